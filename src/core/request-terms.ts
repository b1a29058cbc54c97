/**
 * The indexed terms of a request: its policy effect, the rules that matched
 * and its connection's tags, as `effect:approve`, `rule:prod-writes`,
 * `tag:data`, `tag:data=pii`. Stores index them so that filters on them are
 * lookups, not scans of the records' JSON; every store derives them here so
 * that they all match the same requests. Most requests share one set of terms
 * (the same effect, rules and tags), so stores keep each set once, under its
 * key, and a request refers to its set.
 */
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
 * The canonical key of a set of terms: the same for the same terms in any order or repetition, and unambiguous
 * whatever a tag value holds (JSON, not a separator a value could contain).
 *
 * @example
 * termSetKey(['tag:env', 'effect:allow', 'tag:env']); // '["effect:allow","tag:env"]'
 */
export function termSetKey(terms: readonly string[]): string {
  return JSON.stringify([...new Set(terms)].sort());
}
