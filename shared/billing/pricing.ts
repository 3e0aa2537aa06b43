/**
 * Prices and estimated costs. Prices come from configuration as decimal strings of minor currency units (cents
 * for usd), e.g. 200 per million tokens, 0.005 per GB-hour; costs are whole minor units, rounded half up per
 * component, the way an invoice line is a whole amount. Token costs are computed in exact integer arithmetic.
 */

/** 10^9 bytes: storage is sold in decimal gigabytes. */
export const BYTES_PER_GB = 1_000_000_000;
/** Storage reaches Stripe in MB-hours (whole numbers, as meter event values must be). */
export const BYTES_PER_MB = 1_000_000;
export const MB_PER_GB = BYTES_PER_GB / BYTES_PER_MB;

interface ScaledDecimal {
  /** value = digits / 10^scale */
  digits: bigint;
  scale: number;
}

function parseDecimal(value: string): ScaledDecimal {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new Error(`not a non-negative decimal: ${value}`);
  const fraction = match[2] ?? '';
  return { digits: BigInt(`${match[1]}${fraction}`), scale: fraction.length };
}

/** numerator / denominator rounded half up, for non-negative integers. */
function divideRoundingHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}

/** Minor units for `tokens` at `perMillion` minor units per million tokens. */
export function tokensCost(tokens: number, perMillion: string): number {
  const price = parseDecimal(perMillion);
  const denominator = 1_000_000n * 10n ** BigInt(price.scale);
  return Number(divideRoundingHalfUp(BigInt(Math.round(tokens)) * price.digits, denominator));
}

/** Minor units for `gbHours` at `perGbHour` minor units per GB-hour. */
export function storageCost(gbHours: number, perGbHour: string): number {
  return Math.round(gbHours * Number(perGbHour));
}

/**
 * `value / 10^places` as an exact decimal string (no float on the way), e.g. for Stripe's `unit_amount_decimal`:
 * a price per million tokens divided by 10^6 is the price of one token. Stripe accepts at most 12 decimals.
 */
export function shiftDecimal(value: string, places: number): string {
  const { digits, scale } = parseDecimal(value);
  const totalScale = scale + places;
  const text = digits.toString().padStart(totalScale + 1, '0');
  const whole = text.slice(0, text.length - totalScale);
  const fraction = text.slice(text.length - totalScale).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/** The meter value of one storage sample: MB-hours for one hour of `bytes`, rounded half up. */
export function storageMeterValue(bytes: number): number {
  return Math.floor((bytes + BYTES_PER_MB / 2) / BYTES_PER_MB);
}
