/**
 * Bound parameters as the text the action records. Drivers send most
 * parameters as text; some (psycopg 3 for Python ints, by default) send a
 * few types in binary. A binary value is accepted only for a type whose
 * binary form maps to exactly one text form, so the text that was judged and
 * approved names exactly the value that runs; anything else is refused.
 */
import { isUtf8 } from 'node:buffer';

/** Type OIDs (pg_type.h) whose binary form the gateway reads. */
const BOOL = 16;
const INT8 = 20;
const INT2 = 21;
const INT4 = 23;
const TEXT = 25;
const BYTEA = 17;
const FLOAT4 = 700;
const FLOAT8 = 701;
const VARCHAR = 1043;

/**
 * The text of one bound value, or undefined when its binary form is not one
 * the gateway reads (the type is unknown to it, unspecified, or the bytes do
 * not fit it), or a text-format value is not UTF-8.
 *
 * @example
 * paramText(Buffer.from([0, 0, 0, 7]), 1, 23); // '7'
 * paramText(Buffer.from('x'), 0, 0); // 'x'
 * paramText(Buffer.from([1, 2]), 1, 17); // '\\x0102'
 */
export function paramText(value: Buffer, format: number, type: number): string | undefined {
  // Strictly, as the SQL is (protocol.ts): read leniently, bytes that are not UTF-8 would all be recorded as U+FFFD,
  // many values as one text that names none of them.
  if (format === 0) return isUtf8(value) ? value.toString('utf8') : undefined;
  switch (type) {
    case BOOL:
      return value.length === 1 && value[0]! <= 1 ? (value[0] === 1 ? 't' : 'f') : undefined;
    case INT2:
      return value.length === 2 ? String(value.readInt16BE(0)) : undefined;
    case INT4:
      return value.length === 4 ? String(value.readInt32BE(0)) : undefined;
    case INT8:
      return value.length === 8 ? value.readBigInt64BE(0).toString() : undefined;
    case FLOAT4:
      return value.length === 4 ? floatText(value.readFloatBE(0)) : undefined;
    case FLOAT8:
      return value.length === 8 ? floatText(value.readDoubleBE(0)) : undefined;
    case BYTEA:
      return `\\x${value.toString('hex')}`;
    case TEXT:
    case VARCHAR:
      return isUtf8(value) && !value.includes(0) ? value.toString('utf8') : undefined;
  }
  return undefined;
}

/** Postgres' spelling of a float: distinct values get distinct texts (JS prints the shortest that reads back; -0 kept). */
function floatText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

/**
 * The format of parameter `i` by the Bind's format codes: none means all
 * text, one applies to all, otherwise one per parameter.
 *
 * @example
 * paramFormat([1], 3); // 1
 */
export function paramFormat(formats: readonly number[], i: number): number {
  return formats.length === 0 ? 0 : formats.length === 1 ? formats[0]! : (formats[i] ?? 0);
}
