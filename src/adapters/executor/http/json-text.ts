/**
 * A body given as text, as the readers that parse it as JSON whatever its
 * Content-Type read it. Policy reads such text as JSON where JavaScript's
 * JSON.parse does (core/action.ts), and as text otherwise; Python's json,
 * which Django apps call on `request.body`, Flask's `get_json(force=True)`
 * and FastAPI on a body without a Content-Type, reads more:
 *
 * - `NaN`, `Infinity` and `-Infinity` as numbers: `{"amount": 5000, "fee": NaN}`
 *   is text to policy (no field amount) and an object to Python;
 * - the bytes after a UTF-8 byte-order mark, and bytes whose first ones hold a
 *   NUL as UTF-16 or UTF-32 (json.detect_encoding): `{\0"\0a\0…` is
 *   `{"a…` in UTF-16LE;
 * - an integer exactly, where JSON.parse rounds it to a double (as do Go's
 *   decoder into an int64, Jackson into a long): `{"account": 9007199254740993}`
 *   is account 9007199254740992 to policy.
 *
 * - an escaped lone surrogate (`"a\\ud800b"`): JavaScript and Python read the
 *   surrogate, as policy does, Go's encoding/json U+FFFD (and serde_json
 *   refuses the text), as text with one is refused at submit (core/well-formed.ts).
 *
 * Each reads other fields or values than policy judged, so such a body is
 * refused (http/facts.ts).
 */
import { illFormedAt } from '../../../core/well-formed.ts';


/** The text as Python's json.loads decodes the UTF-8 bytes the gateway sends of it; null where it cannot. */
function pythonDecoded(text: string): string | null {
  if (text.startsWith('\ufeff')) return text.slice(1);
  // A NUL among the first bytes: the text is sent as UTF-8, where a NUL byte is only U+0000.
  if (!(text.charCodeAt(0) === 0 || text.charCodeAt(1) === 0)) return text;
  const b = Buffer.from(text, 'utf8');
  if (b.length >= 4) {
    if (b[0] === 0) return b[1] ? utf16(b, true) : utf32(b, true);
    return b[2] || b[3] ? utf16(b, false) : utf32(b, false);
  }
  return b.length === 2 ? utf16(b, b[0] === 0) : text;
}

function utf16(b: Buffer, bigEndian: boolean): string | null {
  if (b.length % 2) return null;
  const copy = Buffer.from(b);
  if (bigEndian) copy.swap16();
  return copy.toString('utf16le');
}

function utf32(b: Buffer, bigEndian: boolean): string | null {
  if (b.length % 4) return null;
  let out = '';
  for (let i = 0; i < b.length; i += 4) {
    const cp = bigEndian ? b.readUInt32BE(i) : b.readUInt32LE(i);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    out += String.fromCodePoint(cp);
  }
  return out;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Whether a double holds the integer literal exactly (15 digits always do; past 309 none is finite). */
function exactAsDouble(literal: string): boolean {
  const digits = literal.length - (literal.startsWith('-') ? 1 : 0);
  if (digits <= 15) return true;
  const n = Number(literal);
  return Number.isFinite(n) && BigInt(literal) === BigInt(n);
}

/**
 * One linear pass over the text outside its strings: the text with `NaN`,
 * `Infinity` and `-Infinity` written as 0 (where Python reads a number), and
 * the first integer literal a double does not hold exactly.
 */
function scan(text: string): { numbered: string; inexact: string | null } {
  let numbered = '';
  let last = 0;
  let inexact: string | null = null;
  // A word Python reads as a number, written as one: its end.
  const word = (at: number, length: number): number => {
    numbered += `${text.slice(last, at)}0`;
    last = at + length;
    return last;
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      i++;
    } else if (text.startsWith('-Infinity', i)) {
      i = word(i, 9);
    } else if (text.startsWith('Infinity', i)) {
      i = word(i, 8);
    } else if (text.startsWith('NaN', i)) {
      i = word(i, 3);
    } else if (c === 0x2d || isDigit(c)) {
      const start = i;
      i++;
      while (isDigit(text.charCodeAt(i))) i++;
      const end = i;
      const next = text[i];
      if (next === '.' || next === 'e' || next === 'E') {
        while (i < text.length && /[0-9.eE+-]/.test(text[i]!)) i++;
      } else if (inexact === null && end - start > 1 && !exactAsDouble(text.slice(start, end))) {
        inexact = text.slice(start, end);
      }
    } else {
      i++;
    }
  }
  return { numbered: numbered + text.slice(last), inexact };
}

const isContainer = (v: unknown) => v !== null && typeof v === 'object';

/**
 * Why another JSON reader would read a body given as text otherwise than
 * policy does (null: it reads it alike). `parsed`: the text's value as
 * JSON.parse reads it, or null when it does not parse.
 *
 * @example
 * jsonTextReadOtherwise('{"amount": 5000, "fee": NaN}', null); // 'Python's json reads it as JSON …'
 * jsonTextReadOtherwise('{"id": 9007199254740993}', { value: { id: 9007199254740992 } }); // 'it holds the integer …'
 */
export function jsonTextReadOtherwise(text: string, parsed: { value: unknown } | null): string | null {
  if (parsed !== null) {
    if (!isContainer(parsed.value)) return null;
    // Only text that escapes a surrogate can hold a lone one (the text itself is well-formed: core/well-formed.ts).
    const lone = /\\u[dD][89a-fA-F]/.test(text) ? illFormedAt(parsed.value, 'body') : null;
    if (lone !== null) return `escapes a lone surrogate (${lone}), which JavaScript and Python read as the surrogate policy sees and Go's encoding/json as U+FFFD; send well-formed text`;
    const { inexact } = scan(text);
    return inexact === null
      ? null
      : `holds the integer ${inexact.slice(0, 40)}${inexact.length > 40 ? '…' : ''}, which policy reads rounded to a double (${Number(inexact)}) and readers of exact integers (Python, Go's int64) as written; send it as a string`;
  }
  const decoded = pythonDecoded(text);
  if (decoded === null) return null;
  const first = decoded.replace(/^[ \t\n\r]+/, '')[0];
  if (first !== '{' && first !== '[') return null;
  let value: unknown;
  try {
    value = JSON.parse(scan(decoded).numbered);
  } catch {
    return null;
  }
  if (!isContainer(value)) return null;
  return 'is not strict JSON, which policy reads as text, but Python\'s json (Django, Flask, FastAPI) reads it as JSON (NaN or Infinity as a number, after a byte-order mark, or in UTF-16 or UTF-32) and acts on fields policy never saw; send strict JSON';
}
