/**
 * ASP.NET Core's built-in route constraints (https://learn.microsoft.com/aspnet/core/fundamentals/routing#route-constraints),
 * as the Functions host evaluates them on HTTP trigger routes: `{id:int}`, `{id:guid}`, `{n:min(1)}`,
 * `{s:regex(^a)}`, ... Values are checked as strings, culture-invariant.
 */
export interface RouteConstraint {
  text: string;
  test(value: string): boolean;
}

const integerPattern = /^[+-]?\d+$/;

export function parseRouteConstraint(text: string): RouteConstraint {
  const match = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(text);
  const name = match?.[1]?.toLowerCase() ?? '';
  const args = match?.[2] ?? '';
  const numbers = args.split(',').map((a) => Number(a.trim()));
  const [a = NaN, b = NaN] = numbers;
  const inRange = (value: string, min: bigint, max: bigint) =>
    integerPattern.test(value) && BigInt(value) >= min && BigInt(value) <= max;
  const number = (value: string) => value.trim() !== '' && Number.isFinite(Number(value));
  let regex: RegExp | undefined;
  if (name === 'regex') {
    try {
      regex = new RegExp(args, 'i');
    } catch (error) {
      throw new Error(`Route constraint "${text}": ${(error as Error).message}`);
    }
  }
  const tests: Record<string, (value: string) => boolean> = {
    int: (v) => inRange(v, -(2n ** 31n), 2n ** 31n - 1n),
    long: (v) => inRange(v, -(2n ** 63n), 2n ** 63n - 1n),
    bool: (v) => /^(true|false)$/i.test(v),
    datetime: (v) => !Number.isNaN(Date.parse(v)),
    decimal: number,
    double: number,
    float: number,
    guid: (v) => /^[({]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}[)}]?$/i.test(v),
    alpha: (v) => /^[a-z]*$/i.test(v),
    min: (v) => integerPattern.test(v) && Number(v) >= a,
    max: (v) => integerPattern.test(v) && Number(v) <= a,
    range: (v) => integerPattern.test(v) && Number(v) >= a && Number(v) <= b,
    length: (v) => (numbers.length > 1 ? v.length >= a && v.length <= b : v.length === a),
    minlength: (v) => v.length >= a,
    maxlength: (v) => v.length <= a,
    regex: (v) => regex?.test(v) ?? true,
    required: (v) => v !== '',
    file: (v) => /\.[^/]*$/.test(v.split('/').pop() ?? ''),
    nonfile: (v) => !/\.[^/]*$/.test(v.split('/').pop() ?? ''),
  };
  // An unknown constraint (a custom one registered in C#) cannot be evaluated here: it accepts everything.
  return { text, test: tests[name] ?? (() => true) };
}
