import { describe, expect, it } from 'vitest';
import { termSetKey } from '../../core/request-terms.ts';
import { approveDecision, requestRecord } from '../../../test/support/fixtures.ts';
import { createTermSetCache, termSetOf, type TermSet } from './term-sets.ts';

describe('term set keys', () => {
  it('are the same for the same terms in any order or repetition, and differ for different terms', () => {
    expect(termSetKey(['tag:env', 'effect:allow', 'tag:env'])).toBe(termSetKey(['effect:allow', 'tag:env']));
    expect(termSetKey(['tag:a,b'])).not.toBe(termSetKey(['tag:a', 'b']));
    expect(termSetKey(['tag:x="1","tag:y"'])).not.toBe(termSetKey(['tag:x="1"', 'tag:y']));
  });

  it('stay short for a large set (a digest of its JSON), and still tell large sets apart in any order', () => {
    const many = Array.from({ length: 100 }, (_, i) => `tag:k${i}=${'v'.repeat(40)}${i}`);
    const key = termSetKey(many);
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(termSetKey([...many].reverse())).toBe(key);
    expect(termSetKey([...many, 'tag:one-more'])).not.toBe(key);
    // Lone surrogates that UTF-8 alone would both turn into U+FFFD.
    expect(termSetKey([...many, 'tag:x=\ud800'])).not.toBe(termSetKey([...many, 'tag:x=\ud801']));
    // Short sets keep their readable key.
    expect(termSetKey(['effect:allow'])).toBe('["effect:allow"]');
  });

  it('are shared by requests with the same effect, rules and tags, whatever else differs', () => {
    const a = requestRecord({ id: 'a', decision: approveDecision() });
    const b = requestRecord({ id: 'b', decision: { ...approveDecision(['dba'], 2), message: 'other' } });
    const c = requestRecord({ id: 'c', decision: { ...approveDecision(), effect: 'deny' } });
    expect(termSetOf(a).key).toBe(termSetOf(b).key);
    expect(termSetOf(a).key).not.toBe(termSetOf(c).key);
  });

  it('follow the effect, rules and tags of each request when tags are frozen (the configuration\'s), and when they are not', () => {
    const frozen = Object.freeze({ env: 'prod', compliance: Object.freeze(['soc2', 'gdpr']) });
    const connection = { name: 'orders-db', kind: 'postgres' as const, tags: frozen };
    const of = (decision: ReturnType<typeof approveDecision>) => termSetOf(requestRecord({ connection, decision }));
    const held = of(approveDecision());
    expect(held.terms).toEqual(expect.arrayContaining(['effect:approve', 'rule:prod-writes', 'tag:env=prod', 'tag:compliance=gdpr']));
    expect(of(approveDecision()).key).toBe(held.key);
    expect(of({ ...approveDecision(), effect: 'allow' }).terms).toContain('effect:allow');
    expect(of({ ...approveDecision(), rules: ['prod-writes', 'other'] }).terms).toContain('rule:other');
    // A rule id with a separator in it is another set, not a pair of rules.
    expect(of({ ...approveDecision(), rules: ['a","b'] }).key).not.toBe(of({ ...approveDecision(), rules: ['a', 'b'] }).key);
    // Tags that may change are read again on every request.
    const open: Record<string, string | string[]> = { env: 'prod' };
    const loose = { ...connection, tags: open };
    expect(termSetOf(requestRecord({ connection: loose })).terms).toContain('tag:env=prod');
    open['env'] = 'staging';
    expect(termSetOf(requestRecord({ connection: loose })).terms).toContain('tag:env=staging');
    // So are frozen tags with a list that is not.
    const list = ['soc2'];
    const half = { ...connection, tags: Object.freeze({ compliance: list }) };
    expect(termSetOf(requestRecord({ connection: half })).terms).toContain('tag:compliance=soc2');
    list.push('gdpr');
    expect(termSetOf(requestRecord({ connection: half })).terms).toContain('tag:compliance=gdpr');
  });
});

describe('the term set cache', () => {
  const set: TermSet = { key: '["effect:allow"]', terms: ['effect:allow'] };

  it('creates a set seen by many requests at once only once, and then answers from memory', async () => {
    const created: string[] = [];
    let release!: (id: number) => void;
    const cache = createTermSetCache((s) => {
      created.push(s.key);
      return new Promise<number>((resolve) => (release = resolve));
    });
    const waiting = [cache.committed(set), cache.committed(set), cache.committed(set)];
    expect(cache.cached(set)).toBeUndefined();
    release(7);
    expect(await Promise.all(waiting)).toEqual([7, 7, 7]);
    expect(created).toEqual([set.key]);
    expect(cache.committed(set)).toBe(7);
    expect(cache.cached(set)).toBe(7);
  });

  it('remembers nothing of a creation that failed: the next request creates the set again', async () => {
    let attempts = 0;
    const cache = createTermSetCache(async () => {
      attempts++;
      if (attempts === 1) throw new Error('the transaction rolled back');
      return 3;
    });
    await expect(cache.committed(set)).rejects.toThrow('rolled back');
    expect(cache.cached(set)).toBeUndefined();
    expect(await cache.committed(set)).toBe(3);
    expect(attempts).toBe(2);
  });
});
