/**
 * The indexed terms of a request: its policy effect, the rules that matched
 * and its connection's tags, as `effect:approve`, `rule:prod-writes`,
 * `tag:data`, `tag:data=pii`. Stores index them so that filters on them are
 * lookups, not scans of the records' JSON; every store derives them here so
 * that they all match the same requests. Most requests share one set of terms
 * (the same effect, rules and tags), so stores keep each set once, under its
 * key, and a request refers to its set.
 */
import { sha256Hex } from './digest.ts';
import type { RequestRecord } from './request.ts';

/**
 * @example
 * requestTerms(r); // ['effect:approve', 'rule:prod-writes', 'tag:compliance', 'tag:compliance=soc2', 'tag:compliance=gdpr']
 */
export function requestTerms(r: Pick<RequestRecord, 'decision' | 'connection'>): string[] {
  const terms = new Set<string>([`effect:${r.decision.effect}`, ...r.decision.rules.map((id) => `rule:${id}`)]);
  for (const [k, v] of Object.entries(r.connection.tags)) {
    terms.add(`tag:${k}`);
    // A list tag (compliance: [soc2, gdpr]) has a term per value, so it matches any of them.
    for (const one of Array.isArray(v) ? v : [v]) terms.add(`tag:${k}=${String(one)}`);
  }
  return [...terms];
}

/**
 * Longest key kept as the terms' JSON, in UTF-16 units (at most 3 bytes each in UTF-8): PostgreSQL refuses a unique
 * index entry over about 2,700 bytes, and a set of many long tag values would otherwise be a key no request on its
 * connection could ever be written with.
 */
const MAX_PLAIN_KEY = 512;

/**
 * The canonical key of a set of terms: the same for the same terms in any order or repetition, and unambiguous
 * whatever a tag value holds (JSON, not a separator a value could contain). A longer JSON is keyed by its SHA-256
 * ('sha256:…', which no JSON array begins with).
 *
 * @example
 * termSetKey(['tag:env', 'effect:allow', 'tag:env']); // '["effect:allow","tag:env"]'
 */
export function termSetKey(terms: readonly string[]): string {
  // JSON.stringify writes a lone surrogate as an escape, so the hash's UTF-8 input is the JSON itself.
  const json = JSON.stringify([...new Set(terms)].sort());
  return json.length <= MAX_PLAIN_KEY ? json : `sha256:${sha256Hex(json)}`;
}
