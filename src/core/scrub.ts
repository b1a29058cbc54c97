/**
 * Scrubbing a connection's secrets out of what its upstream sends back. An
 * upstream that echoes requests (a debug endpoint, a reflected error) would
 * hand the gateway's credentials to the agent; an exact-text replacement
 * misses them once they are escaped or encoded, so each secret is looked for
 * as written and through the encodings echoes commonly use:
 *
 * - escapes, decoded before searching (twice, so one escape inside another is
 *   seen): JSON and JavaScript (`\/`, `\uXXXX` of any character, `\xHH`,
 *   octal `\ooo`, `%uXXXX`), percent-encoding (either hex case), HTML
 *   character references, quoted-printable;
 * - the text's standalone byte values, decimal, 0x-hex or hex pairs, with
 *   whatever separates them dropped (`[66, 101, …]` pretty-printed, a hex dump);
 * - base64 and base64url at all three byte alignments (a secret in the middle
 *   of an encoded blob), base64 wrapped over lines (MIME), hex in either case,
 *   base32, each of the secret as written, JSON-escaped and percent-encoded;
 * - pieces of a token: its 9 characters from every 4th one on (so any 12 in
 *   a row hold one), the token in another case, reversed, or as a list of
 *   byte values.
 *
 * Whatever matches is replaced by `[redacted]` in the original text. What it
 * cannot see: an upstream that transforms a secret on purpose (reverses it,
 * sends it a few characters per response, encrypts it). Pure: no I/O.
 */

import { base32Aligned, base64Aligned } from './aligned-encodings.ts';

export const REDACTED = '[redacted]';
/** Shorter values (a `debug` flag, a user name) are not treated as secrets: scrubbing them would garble every answer. */
export const MIN_SECRET_LENGTH = 6;

/** Per character of a view, the span of the original text it came from. */
interface View {
  readonly text: string;
  /** Absent for the original text itself (character i is span [i, i+1)). */
  readonly start?: Int32Array;
  readonly end?: Int32Array;
}
const startOf = (v: View, i: number) => (v.start ? v.start[i]! : i);
const endOf = (v: View, i: number) => (v.end ? v.end[i]! : i + 1);

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", sol: '/', colon: ':', equals: '=', plus: '+', percnt: '%', bsol: '\\', lowbar: '_', period: '.', comma: ',', num: '#', dollar: '$' };
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '/': '/', '\\': '\\', '"': '"', "'": "'", b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0' };
const ESCAPE = /\\u([0-9A-Fa-f]{4})|\\u\{([0-9A-Fa-f]{1,6})\}|\\x([0-9A-Fa-f]{2})|\\([0-3][0-7]{2})|\\([/\\"'bfnrt0])|%u([0-9A-Fa-f]{4})|%([0-9A-Fa-f]{2})|&#(\d{1,7});?|&#[xX]([0-9A-Fa-f]{1,6});?|&([a-zA-Z]{2,8});|=([0-9A-F]{2})|(=\r?\n)/g;

function identity(text: string): View {
  return { text };
}

/** One pass of decoding every escape form above, keeping where each character came from. */
function decode(view: View): View | null {
  if (!/[\\%&=]/.test(view.text)) return null;
  // Decoding never lengthens: every escape stands for at most as many UTF-16 units as it is long.
  const start = new Int32Array(view.text.length);
  const end = new Int32Array(view.text.length);
  const parts: string[] = [];
  let n = 0;
  let at = 0;
  const copy = (from: number, to: number) => {
    for (let i = from; i < to; i++, n++) {
      start[n] = startOf(view, i);
      end[n] = endOf(view, i);
    }
    parts.push(view.text.slice(from, to));
  };
  let changed = false;
  for (const m of view.text.matchAll(ESCAPE)) {
    const i = m.index;
    const [whole, u4, u6, x2, octal, simple, pctU, pct, dec, hex, name, qp, softBreak] = m;
    let ch: string | undefined;
    // \uXXXX, and %uXXXX of JavaScript's escape()
    if (u4 !== undefined || pctU !== undefined) ch = String.fromCharCode(Number.parseInt((u4 ?? pctU)!, 16));
    else if (u6 !== undefined || dec !== undefined || hex !== undefined) {
      const cp = u6 !== undefined ? Number.parseInt(u6, 16) : dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
      ch = cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
    } else if (x2 !== undefined) ch = String.fromCharCode(Number.parseInt(x2, 16));
    else if (octal !== undefined) ch = String.fromCharCode(Number.parseInt(octal, 8)); // C, Perl, PHP, Python byte strings
    else if (simple !== undefined) ch = SIMPLE_ESCAPES[simple];
    else if (pct !== undefined) ch = String.fromCharCode(Number.parseInt(pct, 16)); // a byte: secrets are searched as UTF-8 bytes too
    else if (name !== undefined) ch = NAMED[name.toLowerCase()];
    else if (qp !== undefined) ch = String.fromCharCode(Number.parseInt(qp, 16)); // quoted-printable (mail, some logs)
    else if (softBreak !== undefined) ch = ''; // a quoted-printable soft line break
    if (ch === undefined) continue;
    copy(at, i);
    const from = startOf(view, i);
    const to = endOf(view, i + whole.length - 1);
    for (let k = 0; k < ch.length; k++, n++) {
      start[n] = from;
      end[n] = to;
    }
    parts.push(ch);
    at = i + whole.length;
    changed = true;
  }
  if (!changed) return null;
  copy(at, view.text.length);
  return { text: parts.join(''), start: start.subarray(0, n), end: end.subarray(0, n) };
}

// A byte value standing alone: decimal or 0x-hex (`[66, 101]` however laid out, `0x42;0x65`), or two hex digits (`42 65`, `42:65`, a hex dump).
const BYTE_NUMBER = /(?<![0-9.])(?:0[xX]([0-9A-Fa-f]{1,2})|(\d{1,3}))(?![0-9A-Fa-f.])/g;
const HEX_PAIR = /(?<![0-9A-Fa-f])([0-9A-Fa-f]{2})(?![0-9A-Fa-f])/g;

/** The text's standalone byte values, one character each with the separators between them dropped: a secret as a list of bytes in any layout. */
function byteList(text: string, pattern: RegExp, radix: 10 | 16): View | null {
  const chars: string[] = [];
  const start: number[] = [];
  const end: number[] = [];
  for (const m of text.matchAll(pattern)) {
    const value = radix === 16 ? Number.parseInt(m[1]!, 16) : m[1] !== undefined ? Number.parseInt(m[1], 16) : Number.parseInt(m[2]!, 10);
    if (value > 255) continue;
    chars.push(String.fromCharCode(value));
    start.push(m.index);
    end.push(m.index + m[0].length);
  }
  return chars.length < 3 ? null : { text: chars.join(''), start: Int32Array.from(start), end: Int32Array.from(end) };
}

const byteViews = (text: string): View[] => [byteList(text, BYTE_NUMBER, 10), byteList(text, HEX_PAIR, 16)].filter((v): v is View => v !== null);

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
const utf8AsBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

interface Needles {
  /** Searched as is, in the raw text and in its decoded views. */
  readonly exact: string[];
  /** Searched in ASCII lower case (hex). */
  readonly folded: string[];
}

/**
 * Pieces of a token are looked for at fixed places only, not from every character: an agent whose own text an upstream
 * echoes learns from what is redacted whether that text is part of the token, and with a piece at every character it
 * reads a token on one character at a time from its known start (`Bearer tok_live_`). At every 4th, a piece reaching
 * past what it knows holds 4 characters it must guess at once (14 million calls for 4 characters of base62).
 */
const PIECE = 9;
const PIECE_STEP = 4;
/** Tokens at least this long are looked for in pieces too. */
const PIECED = 20;

function needlesFor(secrets: readonly string[]): Needles {
  const exact = new Set<string>();
  const folded = new Set<string>();
  const pieced = secrets.filter((s) => !/\s/.test(s) && s.length >= PIECED);
  for (const s of secrets) {
    // Pieces of a token: an upstream that answers a byte range of an echo, or cuts one, returns a piece (12 in a row hold one).
    // Not of one inside a longer token (a Basic password in its user:password): those pieces find any 12 of it in a
    // row already, and its own, at other places, would answer guesses between theirs.
    const inside = pieced.some((t) => t.length > s.length && t.includes(s));
    if (pieced.includes(s) && !inside) for (let i = 0; i + PIECE <= s.length; i += PIECE_STEP) exact.add(s.slice(i, i + PIECE));
    const forms = new Set([s, JSON.stringify(s).slice(1, -1), s.replaceAll('/', '\\/'), encodeURIComponent(s)]);
    for (const form of forms) exact.add(form);
    // Cheap to cover though rarely seen: case changed, reversed, a byte array (Node's JSON of a Buffer).
    folded.add(asciiLower(s));
    exact.add([...s].reverse().join(''));
    const codes = [...Buffer.from(s, 'utf8')];
    exact.add(codes.join(',')).add(codes.join(', '));
    if (/[^\x00-\x7f]/.test(s)) exact.add(utf8AsBytes(s));
    for (const form of forms) {
      const bytes = Buffer.from(form, 'utf8');
      for (const url of [false, true]) for (const k of [0, 1, 2]) exact.add(base64Aligned(bytes, k, url));
      folded.add(bytes.toString('hex'));
      for (const k of [0, 1, 2, 3, 4]) folded.add(asciiLower(base32Aligned(bytes, k)));
    }
  }
  const usable = (n: string) => n.length >= 4;
  return { exact: [...exact].filter(usable), folded: [...folded].filter(usable) };
}

const lowerCode = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
const key4 = (t: string, i: number) => ((t.charCodeAt(i) * 31 + t.charCodeAt(i + 1)) * 31 + t.charCodeAt(i + 2)) * 31 + t.charCodeAt(i + 3);
const key4Folded = (t: string, i: number) => ((lowerCode(t.charCodeAt(i)) * 31 + lowerCode(t.charCodeAt(i + 1))) * 31 + lowerCode(t.charCodeAt(i + 2))) * 31 + lowerCode(t.charCodeAt(i + 3));

/** Needles by a key of their first 4 characters: one scan of a text finds them all (hundreds of indexOf passes over 1 MiB do not scale). */
function indexByPrefix(list: readonly string[], fold: boolean): Map<number, string[]> {
  const index = new Map<number, string[]>();
  for (const n of list) {
    const k = fold ? key4Folded(n, 0) : key4(n, 0);
    index.set(k, [...(index.get(k) ?? []), n]);
  }
  return index;
}

function matchesAt(text: string, at: number, needle: string, fold: boolean): boolean {
  if (at + needle.length > text.length) return false;
  if (!fold) return text.startsWith(needle, at);
  for (let j = 0; j < needle.length; j++) if (lowerCode(text.charCodeAt(at + j)) !== needle.charCodeAt(j)) return false;
  return true;
}

function findAll(text: string, exact: Map<number, string[]>, folded: Map<number, string[]>, out: [number, number][]): void {
  for (let i = 0; i + 4 <= text.length; i++) {
    const e = exact.get(key4(text, i));
    if (e) for (const n of e) if (matchesAt(text, i, n, false)) out.push([i, i + n.length]);
    if (folded.size === 0) continue;
    const f = folded.get(key4Folded(text, i));
    if (f) for (const n of f) if (matchesAt(text, i, n, true)) out.push([i, i + n.length]);
  }
}

const BASE64_LINE = /^[A-Za-z0-9+/_-]{4,}={0,2}$/;

/**
 * Blocks of base64 wrapped over lines (MIME, PEM), as [start, end): no
 * alignment substring survives the line breaks. Line by line, in linear time
 * (one regular expression over the whole text backtracks quadratically on a
 * long line with no break).
 */
function wrappedBase64(text: string): [number, number][] {
  const blocks: [number, number][] = [];
  let blockStart = -1;
  let blockEnd = -1;
  let lines = 0;
  const close = () => {
    if (lines >= 2) blocks.push([blockStart, blockEnd]);
    lines = 0;
  };
  for (let at = 0; at <= text.length; ) {
    let nl = text.indexOf('\n', at);
    if (nl === -1) nl = text.length;
    const end = nl > at && text[nl - 1] === '\r' ? nl - 1 : nl;
    if (BASE64_LINE.test(text.slice(at, end))) {
      if (lines === 0) blockStart = at;
      blockEnd = end;
      lines++;
    } else close();
    at = nl + 1;
  }
  close();
  return blocks;
}

export interface SecretScrubber {
  /** Nothing to scrub (no configured value is long enough). */
  readonly empty: boolean;
  /** The text with every found secret replaced; `clean` is false if a second look still finds one (then do not use it). */
  scrub(text: string): { text: string; clean: boolean };
  /** Every string (object keys too) of a JSON-like value scrubbed; a string that will not come clean is replaced whole. */
  scrubValue<T>(value: T): T;
  /**
   * Scrubbed text (scrubbed with everything past `max` in view) cut to at most `max` characters, wherever that falls:
   * a whole secret across the cut was found and replaced, and what is left does not depend on what the secrets are.
   */
  clip(text: string, max: number): string;
  /**
   * A text whose end may cut through a secret (a read that stopped at its bound, a command stopped mid-output)
   * scrubbed with all of it in view, then without what came from its last characters (as many as any secret's
   * longest encoding here spans), whatever they hold: a secret's beginning there goes, and so does an agent's guess,
   * so what comes back never tells whether text at the end begins a secret.
   */
  scrubEnded(text: string): { text: string; clean: boolean };
}

/**
 * @example
 * const s = createSecretScrubber(['tok_live_123456']);
 * s.scrub('{"auth":"Bearer tok_live_123456"}').text; // '{"auth":"[redacted]"}'
 */
export function createSecretScrubber(secrets: readonly string[]): SecretScrubber {
  const usable = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH);
  const needles = needlesFor(usable);
  const exactIndex = indexByPrefix(needles.exact, false);
  const foldedIndex = indexByPrefix(needles.folded, true);

  /** Spans [start, end) of the original text that hold a secret. */
  function spans(text: string): [number, number][] {
    const found: [number, number][] = [];
    const views: View[] = [];
    let view: View | null = identity(text);
    for (let pass = 0; view && pass < 3; pass++) {
      views.push(view);
      view = decode(view);
    }
    views.push(...byteViews(text));
    for (const v of views) {
      const hits: [number, number][] = [];
      findAll(v.text, exactIndex, foldedIndex, hits);
      for (const [a, b] of hits) found.push([startOf(v, a), endOf(v, b - 1)]);
      for (const [from, to] of v.text.includes('\n') ? wrappedBase64(v.text) : []) {
        const joined = v.text.slice(from, to).replace(/\s+/g, '');
        for (let skip = 0; skip < 4; skip++) {
          const decoded = Buffer.from(joined.slice(skip), /[-_]/.test(joined) ? 'base64url' : 'base64').toString('latin1');
          if (needles.exact.some((n) => decoded.includes(n)) || usable.some((s) => decoded.includes(utf8AsBytes(s)))) {
            found.push([startOf(v, from), endOf(v, to - 1)]);
            break;
          }
        }
      }
    }
    return found;
  }

  function replace(text: string, found: [number, number][]): string {
    if (found.length === 0) return text;
    found.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    for (const [a, b] of found) {
      if (b <= at) continue;
      out += text.slice(at, Math.max(at, a)) + (a >= at ? REDACTED : '');
      at = b;
    }
    return out + text.slice(at);
  }

  function scrub(text: string): { text: string; clean: boolean } {
    if (usable.length === 0 || text.length === 0) return { text, clean: true };
    const found = spans(text);
    if (found.length === 0) return { text, clean: true };
    const once = replace(text, found);
    return { text: once, clean: spans(once).length === 0 };
  }

  function scrubValue<T>(value: T): T {
    const str = (s: string) => {
      const r = scrub(s);
      return r.clean ? r.text : REDACTED;
    };
    // Its own stack: a value nested deeply must not overflow ours.
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return str(v);
      if (v === null || typeof v !== 'object' || depth > 256) return depth > 256 ? REDACTED : v;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [str(k), walk(x, depth + 1)]));
    };
    return (usable.length === 0 ? value : walk(value, 0)) as T;
  }

  // What the end of a cut text is cut back by: 16 characters for each of the longest secret's, past the widest form a
  // view decodes one character from (`&#1114111;`, `\u{10FFFF}`: 10) and most escapes of an escape (`%26%23116%3B`: 12);
  // at least 256, and at most the 64 KiB a read bound leaves past its cut.
  const reach = Math.min(65_536, Math.max(256, 16 * Math.max(0, ...usable.map((s) => s.length))));

  const clip = (text: string, max: number) => {
    const out = text.length > max ? text.slice(0, max) : text;
    return /[\ud800-\udbff]$/.test(out) ? out.slice(0, -1) : out;
  };

  function scrubEnded(text: string): { text: string; clean: boolean } {
    if (usable.length === 0) return { text, clean: true };
    const end = Math.max(0, text.length - reach);
    // Found with all of the text in view; a secret across the end is replaced up to it.
    const found = spans(text)
      .filter(([a]) => a < end)
      .map(([a, b]): [number, number] => [a, Math.min(b, end)]);
    const once = replace(clip(text, end), found);
    return { text: once, clean: spans(once).length === 0 };
  }

  return { empty: usable.length === 0, scrub, scrubValue, clip, scrubEnded };
}
