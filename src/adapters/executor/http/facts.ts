/**
 * Facts of an HTTP action: method, canonical path and query. The canonical
 * path is both what policy sees and exactly what the upstream receives, so a
 * rule on `/admin` cannot be walked around with `/%61dmin`, `/public/..;/admin`
 * or a method-override header: such inputs are normalised or refused.
 */
import type { HttpInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import { makeFacts, type Facts } from '../../../core/facts.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
// TRACE echoes the request (the gateway's credentials with it); CONNECT opens a tunnel.
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);
// Headers that make common servers and proxies route to another path or method than the one policy saw.
const REFUSED_HEADERS = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-rewrite-url',
  'x-original-method',
  'x-forwarded-host',
  'x-forwarded-prefix',
  'x-forwarded-path',
  'forwarded',
]);
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function refuse(why: string): never {
  throw new CountersignError('INPUT_UNPARSEABLE', `HTTP ${why}`);
}

/** RFC 3986 §6.2.2 normalisation, stricter: only unreserved escapes are decoded; escapes of / . ; \ % and controls are refused. */
function canonicalPath(raw: string): string {
  if (!raw.startsWith('/') || raw.startsWith('//')) refuse('path must start with a single /');
  if (/[\\;#\s\u0000-\u001f\u007f]/.test(raw)) refuse('path must not contain \\ ; # or control characters');
  const decoded = raw.replace(/%([0-9A-Fa-f]{2})|%/g, (_whole, hex: string | undefined) => {
    if (hex === undefined) refuse('path has a malformed percent-escape');
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    if (UNRESERVED.test(ch)) return ch;
    if ('/.;\\%'.includes(ch) || ch < ' ' || ch === '\u007f') refuse(`path must not encode ${JSON.stringify(ch)}`);
    return `%${hex.toUpperCase()}`;
  });
  if (decoded.split('/').some((s) => s === '.' || s === '..')) refuse('path must not contain . or .. segments');
  return decoded;
}

/** Splits the agent's path (which may carry its own `?query`) and merges the query object into one multimap. */
export function normaliseHttpTarget(input: HttpInput): { path: string; query: Record<string, string[]> } {
  if (REFUSED_METHODS.has(input.method)) refuse(`method ${input.method} is not allowed through the gateway`);
  for (const h of Object.keys(input.headers ?? {})) {
    if (REFUSED_HEADERS.has(h.toLowerCase())) refuse(`header ${h} is not allowed: it would change the path or method the policy saw`);
  }
  const q = input.path.indexOf('?');
  const path = canonicalPath(q === -1 ? input.path : input.path.slice(0, q));
  // Null prototype: a key such as "constructor" is a query key like any other.
  const query = Object.create(null) as Record<string, string[]>;
  if (q !== -1) for (const [k, v] of new URLSearchParams(input.path.slice(q + 1))) (query[k] ??= []).push(v);
  for (const [k, v] of Object.entries(input.query ?? {})) (query[k] ??= []).push(...(Array.isArray(v) ? v : [v]));
  return { path, query: { ...query } };
}

export function deriveHttpFacts(input: HttpInput): Facts {
  const { path, query } = normaliseHttpTarget(input);
  return makeFacts('http', { writes: !READS.has(input.method), http: { method: input.method, path, query } });
}
