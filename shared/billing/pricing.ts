import { sql } from 'kysely';
import type { BillingConfig } from '../config.js';
import type { UnitPrices } from './billingPeriods.js';

/**
 * Prices and amounts, in exact decimal arithmetic. Prices come from configuration as decimal strings of minor
 * currency units (cents for usd): 200 per million tokens, 0.005 per GB-hour. Stripe bills each invoice line as
 * its quantity times the price's `unit_amount_decimal`, rounded to a whole minor unit; an estimate that means to
 * equal the invoice does exactly that, line by line, on exactly the quantities the meters received.
 */

/** 10^9 bytes: storage is sold in decimal gigabytes. */
export const BYTES_PER_GB = 1_000_000_000;
/** Storage reaches Stripe in KB-hours (10^3 bytes for an hour): whole numbers, fine enough not to move a cent. */
export const BYTES_PER_KB = 1_000;
export const KB_PER_GB = BYTES_PER_GB / BYTES_PER_KB;
/** Both prices are per 10^6 of the meter's unit: per million tokens, per GB-hour (10^6 KB-hours). */
const UNITS_PER_PRICE_UNIT_DIGITS = 6;

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

/** A whole `quantity` at `unitAmount` minor units each (a decimal string), rounded half up: one invoice line. */
export function lineAmount(quantity: number, unitAmount: string): number {
  const price = parseDecimal(unitAmount);
  return Number(divideRoundingHalfUp(BigInt(Math.round(quantity)) * price.digits, 10n ** BigInt(price.scale)));
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

/** The configured prices as Stripe's unit amounts: per token, per KB-hour. */
export function configuredUnitPrices(billing: BillingConfig): UnitPrices {
  return {
    tokens: shiftDecimal(billing.tokenPricePerMillion, UNITS_PER_PRICE_UNIT_DIGITS),
    storage: shiftDecimal(billing.storagePricePerGbHour, UNITS_PER_PRICE_UNIT_DIGITS),
  };
}

/** Minor units for `tokens` at `perMillion` minor units per million tokens. */
export function tokensCost(tokens: number, perMillion: string): number {
  return lineAmount(tokens, shiftDecimal(perMillion, UNITS_PER_PRICE_UNIT_DIGITS));
}

/** The meter value of one storage sample: KB-hours for `byteHours` byte-hours, rounded half up. */
export function storageMeterValue(byteHours: number): number {
  return Math.floor((byteHours + BYTES_PER_KB / 2) / BYTES_PER_KB);
}

/**
 * storageMeterValue in SQL, over a column of whole, non-negative byte-hours (bigint division is then the floor), for
 * statements that sum or settle samples by their meter values.
 */
export function storageMeterValueSql(byteHours: string) {
  return sql`((${sql.ref(byteHours)} + ${sql.lit(BYTES_PER_KB / 2)}) / ${sql.lit(BYTES_PER_KB)})`;
}

/** Two unit amounts are the same price (both plain decimals; trailing zeros do not count). */
export function sameAmount(a: string, b: string): boolean {
  const strip = (value: string) => (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value);
  return strip(a) === strip(b);
}
