/**
 * CEL's conversions where the library's are laxer than the spec, so that a
 * string an agent sends converts where CEL says it is an error (and an error
 * denies): `int("")` and `int("0x10")`, `double("0x10")` (JavaScript reads
 * 16), `timestamp("2025-01-01T00:00:00")` (JavaScript reads local time), or a
 * double beyond int64 that `int()` turned into a huge integer.
 */

class CelConversionError extends Error {
  override readonly name = 'EvaluationError';
}

export const MAX_INT = 9223372036854775807n;
export const MIN_INT = -9223372036854775808n;
const TWO_63 = 9223372036854775808;

export function intOfDouble(v: number): bigint {
  // CEL: an error when the truncated value is outside int64 (or NaN, infinite). -2^63 is exactly representable.
  const t = Math.trunc(v);
  if (!Number.isFinite(t) || t >= TWO_63 || t < -TWO_63) throw new CelConversionError('int() range error: the double is outside the int64 range');
  return BigInt(t);
}

export function intOfString(s: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new CelConversionError('int() conversion error: not a decimal integer');
  const n = BigInt(s);
  if (n > MAX_INT || n < MIN_INT) throw new CelConversionError('int() range error: outside the int64 range');
  return n;
}

const DECIMAL = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const SPECIAL = /^[+-]?(inf|infinity|nan)$/i;

/** As Go's strconv.ParseFloat, which CEL's double(string) follows, for decimal notation. */
export function doubleOfString(s: string): number {
  if (SPECIAL.test(s)) {
    const lower = s.toLowerCase();
    if (lower.endsWith('nan')) return Number.NaN;
    return lower.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (!DECIMAL.test(s)) throw new CelConversionError('double() conversion error: not a decimal number');
  const n = Number(s);
  if (!Number.isFinite(n)) throw new CelConversionError('double() range error: outside the double range');
  return n;
}

const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;
export const MIN_TIME = -62135596800000; // 0001-01-01T00:00:00Z
export const MAX_TIME = 253402300799999; // 9999-12-31T23:59:59.999Z

/** RFC 3339 only, with a zone, as CEL's timestamp(string). */
export function timestampOfString(s: string): Date {
  const m = RFC3339.exec(s);
  if (!m) throw new CelConversionError('timestamp() conversion error: not an RFC 3339 time with a zone');
  const [, y, mo, d, h, mi, sec, frac = '', zone] = m;
  const millis = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Number((frac.slice(1) + '000').slice(0, 3)));
  const check = new Date(millis);
  // Date.UTC rolls 2025-02-30 over into March: a field out of range is an error instead.
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
    throw new CelConversionError('timestamp() conversion error: a field is out of range');
  }
  let offset = 0;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    offset = sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60_000;
  }
  const t = millis - offset;
  if (t < MIN_TIME || t > MAX_TIME) throw new CelConversionError('timestamp() range error');
  return new Date(t);
}

export function timestampOfInt(i: bigint): Date {
  const t = Number(i) * 1000;
  if (!(t >= MIN_TIME && t <= MAX_TIME)) throw new CelConversionError('timestamp() range error');
  return new Date(t);
}

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};
const MAX_NANOS = 9223372036854775807n;
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * As Go's time.ParseDuration, which CEL's duration(string) follows: a signed
 * sequence of decimal numbers each with a unit (ns us µs ms s m h), within
 * int64 nanoseconds. One linear scan: the library's parser backtracks
 * quadratically on a long run of digits, and reads `"h"` or `".s"` as zero.
 *
 * @example
 * durationOfString('1h30m'); // { seconds: 5400n, nanos: 0 }
 */
export function durationOfString(s: string): { seconds: bigint; nanos: number } {
  const bad = (): never => {
    throw new CelConversionError(`duration() conversion error: invalid duration ${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)}`);
  };
  let i = 0;
  const negative = s[0] === '-';
  if (s[0] === '-' || s[0] === '+') i++;
  if (s.slice(i) === '0') return { seconds: 0n, nanos: 0 };
  if (i === s.length) bad();
  let total = 0n;
  while (i < s.length) {
    const intStart = i;
    while (isDigit(s[i])) i++;
    const intDigits = s.slice(intStart, i).replace(/^0+/, '');
    let frac = '';
    if (s[i] === '.') {
      const fracStart = ++i;
      while (isDigit(s[i])) i++;
      frac = s.slice(fracStart, i);
      if (i - fracStart === 0 && i - 1 === intStart) bad();
    } else if (i === intStart) bad();
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
    const unit = UNIT_NANOS[s.slice(unitStart, i)];
    // More than 19 integer digits overflows int64 nanoseconds in any unit.
    if (unit === undefined || intDigits.length > 19) bad();
    const fracDigits = frac.slice(0, 18);
    total += BigInt(intDigits || '0') * unit! + (fracDigits ? (BigInt(fracDigits) * unit!) / 10n ** BigInt(fracDigits.length) : 0n);
    if (total > MAX_NANOS + (negative ? 1n : 0n)) bad();
  }
  const signed = negative ? -total : total;
  return { seconds: signed / 1_000_000_000n, nanos: Number(signed % 1_000_000_000n) };
}
