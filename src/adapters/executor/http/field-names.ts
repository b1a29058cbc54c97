/**
 * Field names of a query, form or multipart body as upstream frameworks read
 * them. Policy sees each raw name as its own key; PHP drops leading spaces,
 * reads ` `, `.` and an unbalanced `[` in a name as `_` and `a[b]` as field
 * `a`, Rack 2 drops brackets before a name and closing ones after it
 * (`[_method]` is `_method`), and ASP.NET and others match names in any case. Two raw names one of
 * them reads as one field are refused (`user_id=1&user.id=2` is `user_id=2`
 * to PHP): policy would judge one value, the upstream act on the other.
 */
import { cName, fieldKey, fieldKeys, RACK_NAME } from '../../../core/field-readings.ts';
import { foldKey, type KeyClash } from '../../../core/json-keys.ts';
import { decodeURIComponentOr, hasNonUtf8Escape } from '../../../core/uri-decode.ts';

// A multipart part's name parameter: `name="x"`, `name=x`, RFC 2231 `name*=charset'lang'x` and continuations
// (`name*0=`, `name*1*=`), any case, with what Werkzeug 2.2 (Debian 12's) also reads as one: the parameter's name in
// quotes (`"name"=x`) and spaces before `*` or `=` (`name *=utf-8''x`); the continuation, the RFC 2231 mark, the quote
// and the value up to its end or `;` apart. (No two quantifiers here take the same characters in turn: linear.)
const PART_NAME = /\bname"?(\*\d+)?\s*(\*\s*)?=\s*("?)([^";\r\n]*)/gi;
// RFC 2231 charsets read as UTF-8 reads them (Werkzeug 3 decodes only these, Werkzeug 2.2 any Python codec: utf-16le or
// utf-7 spell `_method` in other bytes); ISO 8859-1 agrees with UTF-8 on ASCII only.
const UTF8_CHARSETS = new Set(['', 'utf-8', 'utf8', 'us-ascii', 'ascii']);
const LATIN1_CHARSETS = new Set(['iso-8859-1', 'latin1', 'latin-1']);
// An RFC 2231 value's charset and language: Werkzeug takes any token characters in them (`utf-8'en.x'`), so any but '.
const CHARSET_LANG = /^[^']*'[^']*'/;
// What Werkzeug (Flask) and busboy read of an unquoted value: its token characters, up to the first other one.
const TOKEN = /^[\w!#$%&'*+.^`|~-]*/;
// Whitespace before the colon too: undici's formData (and so Hono's method override) reads `Content-Disposition :`.
const DISPOSITION = /content-disposition[ \t]*:/i;

/** The part names of a body, and whether one of them is given in RFC 2231 continuations. */
export interface MultipartNames {
  readonly names: readonly string[];
  /**
   * A `name*0=`, `name*1=`, …: Werkzeug joins the pieces (and a `name=` before them) into one name, `name*0="_met";
   * name*1="hod"` into `_method`, which no browser or client sends and no reading here takes apart.
   */
  readonly continued: boolean;
  /**
   * An RFC 2231 name (`name*=`) in a charset other than UTF-8's readings (`name*=utf-16le''_%00m%00…`): Werkzeug 2.2
   * decodes it in that charset, into a name (`_method`) no reading here takes; or whose escapes are not UTF-8 (`%FF`).
   */
  readonly otherCharset: boolean;
}

/**
 * The part names of a multipart reading: every `name=` after the first
 * `Content-Disposition:`, which takes in each one a part header names, each
 * as every reader takes it — the value up to `;` or its closing quote, an
 * unquoted one only up to its first character that is not a token's
 * (`name=_method x` is `_method` to Werkzeug), an RFC 2231 one after its
 * charset and language — all percent-decoded. (One expression from each
 * header to the name after it retried the rest of the line for every header
 * on it: minutes on a body of headers with no name.)
 */
export function multipartNames(text: string): MultipartNames {
  const from = text.search(DISPOSITION);
  if (from === -1) return { names: [], continued: false, otherCharset: false };
  const names = new Set<string>();
  let continued = false;
  let otherCharset = false;
  for (const m of text.slice(from).matchAll(PART_NAME)) {
    if (m[1] !== undefined) continued = true;
    const value = m[4]!;
    // An RFC 2231 name is percent-decoded upstream; escapes that are not UTF-8 read there as no name read here.
    if (m[2] !== undefined) otherCharset ||= isOtherCharset(value) || hasNonUtf8Escape(value);
    const readings = [value, value.replace(CHARSET_LANG, '')];
    if (m[3] === '') readings.push(...readings.map((r) => TOKEN.exec(r)![0]));
    for (const r of readings) names.add(decodeURIComponentOr(r));
  }
  return { names: [...names], continued, otherCharset };
}

/** Whether an RFC 2231 value's charset (`utf-16le''…`) may read its bytes otherwise than UTF-8 does. */
function isOtherCharset(value: string): boolean {
  const charset = /^([^']*)'[^']*'/.exec(value)?.[1]?.toLowerCase();
  if (charset === undefined || UTF8_CHARSETS.has(charset)) return false;
  return !(LATIN1_CHARSETS.has(charset) && !/%[89a-f]/i.test(value));
}

/** A field name as one framework reads it, folded: the field and what nests under it. */
interface FieldReading {
  readonly field: string;
  readonly nested: string;
}

/** PHP's reading of a name, folded: the field (before a balanced `[…]`, with ` `, `.` and `[` as `_`) and what nests under it. */
function phpName(name: string): FieldReading {
  const k = cName(name).trimStart();
  const open = k.indexOf('[');
  const nests = open > 0 && k.indexOf(']', open) !== -1;
  return { field: foldKey((nests ? k.slice(0, open) : k).replace(/[ .[]/g, '_')), nested: nests ? foldKey(k.slice(open)) : '' };
}

/** Rack 2's reading of a name, folded: `[_method]`, `]_method` and `_method]` are field `_method` (and `[_method]` is to qs, Express's extended parser); what follows nests under it. */
function rackName(name: string): FieldReading {
  const m = RACK_NAME.exec(name);
  return m ? { field: foldKey(m[1]!), nested: foldKey(name.slice(m[0].length)) } : { field: foldKey(name), nested: '' };
}

const READINGS = [phpName, rackName] as const;

export { cName, fieldKey, fieldKeys };

/**
 * The first two distinct raw names that read as one field: equal once PHP's
 * rules and case folding apply, or one a plain field and the other nested
 * under the same field (`a=1&a[b]=2`: PHP keeps one). A name repeated as
 * written (`tags[]=a&tags[]=b`, `id=1&id=2`) is one multi-valued key to
 * policy, not a clash.
 *
 * @example
 * fieldClash(['user_id', 'user.id']); // { first: 'user_id', second: 'user.id' }
 */
export function fieldClash(names: Iterable<string>): KeyClash | null {
  const distinct = new Set(names);
  // A clash takes two distinct names (the usual query has none or one): no readings to build.
  if (distinct.size < 2) return null;
  for (const read of READINGS) {
    const clash = clashIn(distinct, read);
    if (clash) return clash;
  }
  return null;
}

function clashIn(names: ReadonlySet<string>, read: (name: string) => FieldReading): KeyClash | null {
  const whole = new Map<string, string>();
  const plain = new Map<string, string>();
  const nesting = new Map<string, string>();
  for (const raw of names) {
    const { field, nested } = read(raw);
    const same = whole.get(field + nested);
    if (same !== undefined) return { first: same, second: raw };
    whole.set(field + nested, raw);
    const other = (nested ? plain : nesting).get(field);
    if (other !== undefined) return { first: other, second: raw };
    const mine = nested ? nesting : plain;
    if (!mine.has(field)) mine.set(field, raw);
  }
  return null;
}

/**
 * A field named in both the query and the body: Rails' `params`, PHP's
 * `$_REQUEST` and the servlet `getParameter` read both as one set of fields
 * (one copy wins), while policy sees `facts.http.query` and the body apart.
 *
 * @example
 * fieldInBoth(['amount'], ['AMOUNT']); // { first: 'amount', second: 'AMOUNT' }
 */
export function fieldInBoth(query: Iterable<string>, body: Iterable<string>): KeyClash | null {
  const [q, b] = [[...query], [...body]];
  for (const read of READINGS) {
    const fields = new Map<string, string>();
    for (const raw of q) if (!fields.has(read(raw).field)) fields.set(read(raw).field, raw);
    for (const raw of b) {
      const earlier = fields.get(read(raw).field);
      if (earlier !== undefined) return { first: earlier, second: raw };
    }
  }
  return null;
}
