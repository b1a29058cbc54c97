/**
 * The digest binds an approval to one exact action: SHA-256 over the RFC 8785
 * canonical JSON of the principal, the connection and the input. The reason is
 * left out on purpose: it explains the action but does not change what runs.
 */
import { hash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { Action } from './action.ts';
import type { ConnectionInfo } from './connection.ts';
import { valueTooDeep } from './json-depth.ts';
import type { Principal } from './principal.ts';

// The package is CommonJS (`module.exports = fn`) but its typings declare an ES
// default export, which NodeNext resolution reads as the module object.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

// JavaScript orders integer-like keys numerically before all others, whatever
// the insertion order, so objects with such keys take the package's path.
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;
// `__proto__` as an own key (JSON.parse makes one) would set a plain object's prototype: also the package's path.
// The first character decides before any regular expression runs: a digit, or the `_` of `__proto__`.
const FALLBACK_KEY = (k: string) => {
  const c = k.charCodeAt(0);
  return (c >= 48 && c <= 57 && INDEX_LIKE.test(k)) || (c === 95 && k === '__proto__');
};
const FALLBACK = Symbol('fallback');

/**
 * Far above what an agent may send (MAX_JSON_DEPTH, checked where input
 * enters) plus the envelopes the gateway wraps around it, far below what
 * overflows the stack: a value past it is refused, never a crash.
 */
const MAX_CANONICAL_DEPTH = 512;

/**
 * The value with every object's keys in RFC 8785 order (UTF-16 code units):
 * an object or array already in that order, all the way down, is returned
 * as it is, and only what is out of order is copied. The gateway writes the
 * objects it hashes with their keys in that order, so on the hot path
 * nothing is copied (bench:gateway, "Shared path" in BENCHMARKS.md). Keys are
 * checked and values visited in the order JSON.stringify writes them, so what
 * throws is what a full copy would throw.
 */
function inOrder(v: unknown, depth = 0): unknown {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('RFC 8785 allows only finite numbers');
    return v;
  }
  if (v === null || typeof v !== 'object') return v;
  if (depth > MAX_CANONICAL_DEPTH) throw new RangeError(`value nests more than ${MAX_CANONICAL_DEPTH} levels`);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return inOrder((v as { toJSON(): unknown }).toJSON(), depth + 1);
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const y = inOrder(x, depth + 1);
      if (copy === undefined && y !== x) copy = v.slice(0, i);
      if (copy !== undefined) copy.push(y);
    }
    return copy ?? v;
  }
  const keys = Object.keys(v);
  // Only a plain object is written by JSON.stringify as its own keys: any other (a Map, a boxed number) is copied as before.
  const proto: unknown = Object.getPrototypeOf(v);
  let sorted = proto === Object.prototype || proto === null;
  for (let i = 1; sorted && i < keys.length; i++) sorted = keys[i - 1]! < keys[i]!;
  const from = v as Record<string, unknown>;
  if (!sorted) {
    // A plain object: null-prototype ones are far slower to build and to stringify (bench:audit).
    const out: Record<string, unknown> = {};
    for (const k of keys.sort()) {
      if (FALLBACK_KEY(k)) throw FALLBACK;
      out[k] = inOrder(from[k], depth + 1);
    }
    return out;
  }
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (FALLBACK_KEY(k)) throw FALLBACK;
    const x = from[k];
    const y = inOrder(x, depth + 1);
    if (copy === undefined && y !== x) {
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j]!] = from[keys[j]!];
    }
    if (copy !== undefined) copy[k] = y;
  }
  return copy ?? v;
}

/**
 * RFC 8785 (JCS) canonical form of a JSON value.
 *
 * Once keys are in JCS order, JSON.stringify writes strings and numbers
 * exactly as JCS does (RFC 8785 §3.2.2 defers to ECMAScript), at half the cost
 * of serialising value by value; a property test holds this against the
 * `canonicalize` package.
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(inOrder(value));
  } catch (e) {
    if (e !== FALLBACK) throw e;
    // The package recurses without a bound: checked first, with a walk that cannot overflow.
    if (valueTooDeep(value, MAX_CANONICAL_DEPTH)) throw new RangeError(`value nests more than ${MAX_CANONICAL_DEPTH} levels`);
    text = canonicalize(value);
  }
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex'); // one-shot: no Hash object per call
}

/**
 * @example
 * actionDigest(principal, connection, action); // 'sha256:9f2c…'
 */
export function actionDigest(principal: Principal, connection: ConnectionInfo, action: Action): string {
  // Keys written in canonical order: nothing to reorder (see inOrder).
  const bound = {
    connection: { kind: connection.kind, name: connection.name },
    input: action.input,
    operation: action.operation,
    principal: { actsFor: principal.actsFor, id: principal.id, kind: principal.kind },
  };
  return `sha256:${sha256Hex(canonicalJson(bound))}`;
}
