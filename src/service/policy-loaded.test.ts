import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { compilePolicy, type CompiledPolicy } from '../core/policy/compile.ts';
import type { Store } from '../core/ports.ts';
import { recordPolicyLoaded } from './policy-loaded.ts';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const policy = (effect: 'allow' | 'deny'): CompiledPolicy => compilePolicy({ default: 'deny', defaultTtlSeconds: 3600, rules: [{ id: 'reads', when: '!facts.writes', effect }] });
const clock = { now: () => new Date('2026-12-01T00:00:00.000Z') };

describe('recordPolicyLoaded with a shadowed candidate', () => {
  it('records the candidate, a change of the candidate alone, and its removal; nothing when neither changed', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    stores.push(store);
    const live = policy('allow');
    const [a, b] = [policy('deny'), compilePolicy({ default: 'approve', defaultTtlSeconds: 60, rules: [] })];
    const load = (candidate?: CompiledPolicy) =>
      recordPolicyLoaded({ store, clock, policy: () => live, ...(candidate ? { candidate } : {}) }, { file: 'c.yaml', loadedBy: 'ops@host', ...(candidate ? { candidateFile: '/srv/next.yaml' } : {}) });
    expect(await load()).toBe(true);
    expect(await load()).toBe(false);
    expect(await load(a)).toBe(true);
    expect(await load(a)).toBe(false);
    expect(await load(b)).toBe(true);
    expect(await load()).toBe(true);
    const events = await store.searchAudit({ types: ['policy.loaded'] });
    expect(events.map((e) => [e.data['old'] === e.data['new'], e.data['candidate']])).toEqual([
      [false, undefined],
      [true, { hash: a.hash, file: '/srv/next.yaml', rules: [{ id: 'reads', effect: 'deny' }] }],
      [true, { hash: b.hash, file: '/srv/next.yaml', rules: [] }],
      [true, null],
    ]);
  });
});
