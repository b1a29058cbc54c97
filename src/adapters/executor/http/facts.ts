/**
 * Facts of an HTTP action: method, normalised path and query, from the input
 * itself. A path that climbs out of the connection's base (`..`) is refused.
 */
import type { HttpInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import { makeFacts, type Facts } from '../../../core/facts.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Splits the agent's path (which may carry its own `?query`) and merges the query object into one multimap. */
export function normaliseHttpTarget(input: HttpInput): { path: string; query: Record<string, string[]> } {
  let url: URL;
  try {
    url = new URL(input.path, 'http://target.invalid');
  } catch {
    throw new CountersignError('INPUT_UNPARSEABLE', `HTTP path does not parse: ${input.path.slice(0, 200)}`);
  }
  if (url.host !== 'target.invalid') throw new CountersignError('INPUT_UNPARSEABLE', 'HTTP path must not name a host');
  const rawSegments = input.path.split('?')[0]!.split('/');
  if (rawSegments.some((s) => s === '..' || s === '.' || /%2e%2e|%2f/i.test(s))) {
    throw new CountersignError('INPUT_UNPARSEABLE', 'HTTP path must not contain . or .. segments or encoded slashes');
  }
  const query: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
  for (const [k, v] of Object.entries(input.query ?? {})) (query[k] ??= []).push(...(Array.isArray(v) ? v : [v]));
  return { path: url.pathname, query };
}

export function deriveHttpFacts(input: HttpInput): Facts {
  const { path, query } = normaliseHttpTarget(input);
  return makeFacts('http', { writes: !READS.has(input.method), http: { method: input.method, path, query } });
}
