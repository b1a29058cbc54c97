/**
 * Keys of one JSON object that another reader takes for one key. JavaScript
 * keeps the last of exact duplicates; Go's encoding/json matches a struct
 * field in any case (its own folding: `ſ` is `s`, the Kelvin sign `k`) and
 * the last match wins; .NET (PropertyNameCaseInsensitive) and Jackson
 * (ACCEPT_CASE_INSENSITIVE_PROPERTIES) match in any case too. A policy that
 * read `amount` of `{"amount":1,"AMOUNT":100000}` would judge another value
 * than such an upstream acts on, so the gateway refuses the pair.
 */

const ASCII = /^[\x00-\x7f]*$/;

/** One code point folded: simple upper then lower case (`ſ`→`s`, `K`→`k`, `ς`→`σ`, `ı`→`i`), else lower, where each maps to one code point. */
function foldCodePoint(ch: string): string {
  // A lone surrogate is no character: Go's decoder reads each as U+FFFD.
  if (ch.length === 1 && ch >= '\ud800' && ch <= '\udfff') return '\ufffd';
  const upper = ch.toUpperCase();
  if ([...upper].length === 1) {
    const lower = upper.toLowerCase();
    if ([...lower].length === 1) return lower;
  }
  const lower = ch.toLowerCase();
  return [...lower].length === 1 ? lower : ch;
}

/**
 * A name as case-insensitive readers compare it: Unicode simple case folding,
 * taken wider where readers differ (.NET reads `ı` as `I`), and ended at a
 * NUL, so that two names any of them equate fold alike.
 *
 * @example
 * foldKey('Amount') === foldKey('AMOUNT'); // true
 * foldKey('ta\u017Fk') === foldKey('task'); // true
 */
export function foldKey(name: string): string {
  // Readers that keep a name as a C string (cJSON, PHP's form fields) end it at a NUL: `name\u0000x` is `name` to them.
  const nul = name.indexOf('\u0000');
  const key = nul === -1 ? name : name.slice(0, nul);
  if (ASCII.test(key)) return key.toLowerCase();
  let out = '';
  for (const ch of key) out += foldCodePoint(ch);
  return out;
}

/** Two keys of one object that a reader takes for one: `first` as written before `second`. */
export interface KeyClash {
  readonly first: string;
  readonly second: string;
}

/**
 * The first two keys of one object, at any depth, that are equal under
 * `fold` (exact duplicates by default), in JSON text that parses. Scans the
 * text once, decoding only keys that hold escapes (`"\u0061mount"` is
 * `amount`).
 *
 * @example
 * jsonKeyClash('[{"a":1,"A":2}]', foldKey); // { first: 'a', second: 'A' }
 */
export function jsonKeyClash(text: string, fold: (key: string) => string = (k) => k): KeyClash | null {
  // One frame per open object (its keys by folded name) or array (null).
  const frames: (Map<string, string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const keys = frames.at(-1);
      if (!expectKey || !keys) continue;
      expectKey = false;
      const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
      const folded = fold(key);
      const earlier = keys.get(folded);
      if (earlier !== undefined) return { first: earlier, second: key };
      keys.set(folded, key);
    } else if (c === 0x7b) {
      frames.push(new Map());
      expectKey = true;
    } else if (c === 0x5b) {
      frames.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c) expectKey = frames.at(-1) != null;
  }
  return null;
}

/** Whether foldKeys would change anything of `value`: a key that folds to another, or an object that is not plain. */
function needsFolding(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const v of value) if (needsFolding(v)) return true;
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return true;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) return true;
    if (foldKey(k) !== k || needsFolding((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

function foldedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(foldedCopy);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = foldKey(k);
    // defineProperty: a key `__proto__` is a key like any other.
    if (!Object.hasOwn(out, key)) Object.defineProperty(out, key, { value: foldedCopy(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * A JSON value with every object key folded (foldKey), at any depth: what a
 * case-insensitive reader makes of it. Where two keys fold alike (refused
 * before policy runs, http/facts.ts and mcp/facts.ts), the first stays. A
 * value whose keys are all folded already (the usual JSON body, query or
 * arguments), in plain objects and arrays, is returned as it is, not copied:
 * callers only read it.
 *
 * @example
 * foldKeys({ AMOUNT: 1, items: [{ Path: '/' }] }); // { amount: 1, items: [{ path: '/' }] }
 */
export function foldKeys(value: unknown): unknown {
  return needsFolding(value) ? foldedCopy(value) : value;
}

/**
 * The path of the first `__proto__` key in a JSON value (`root` names the value itself), or null. JSON.parse keeps it
 * as a key like any other, and so does policy; but `Object.assign({}, opts)` or a `for…in` copy in an upstream in
 * JavaScript sets the copy's prototype to what it holds, and `opts.mode` then reads a value policy saw no key for.
 * Walks with its own stack (the depth is bounded before facts: core/json-depth.ts).
 *
 * @example
 * protoKeyAt(JSON.parse('{"a":[{"__proto__":{"x":1}}]}'), 'body'); // 'body.a[0]'
 */
export function protoKeyAt(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) return path;
    for (const [k, child] of Object.entries(v)) stack.push([child, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`]);
  }
  return null;
}
