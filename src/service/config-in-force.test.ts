import { describe, expect, it } from 'vitest';
import { CONFIG_GENERATION_KEY, configInForce, takeConfigInForce } from './config-in-force.ts';
import type { AuditDraft } from '../core/audit.ts';

function memoryMeta() {
  const meta = new Map<string, string>();
  const events: AuditDraft[] = [];
  let reads = 0;
  return {
    meta,
    events,
    reads: () => reads,
    async getMeta(key: string) {
      reads++;
      return meta.get(key);
    },
    async appendAudit(audit: readonly AuditDraft[], m: Readonly<Record<string, string>> = {}) {
      events.push(...audit);
      for (const [k, v] of Object.entries(m)) meta.set(k, v);
    },
  };
}

describe('configInForce', () => {
  it('refuses with POLICY_NOT_IN_FORCE once another generation is taken, at once when asked to read now', async () => {
    const store = memoryMeta();
    expect(await takeConfigInForce(store, 'g1')).toBe(false);
    const mine = configInForce(store, 'g1');
    await mine.check(0);
    expect(await takeConfigInForce(store, 'g2')).toBe(true);
    await expect(mine.check(0)).rejects.toMatchObject({ code: 'POLICY_NOT_IN_FORCE' });
    expect(store.meta.get(CONFIG_GENERATION_KEY)).toBe('g2');
  });

  it('goes by a reading no older than asked, then reads again', async () => {
    const store = memoryMeta();
    await takeConfigInForce(store, 'g1');
    let t = 0;
    const mine = configInForce(store, 'g1', () => t);
    await mine.check(1000);
    await takeConfigInForce(store, 'g2');
    t = 1000;
    await mine.check(1000); // the reading of t = 0 still goes
    t = 1001;
    await expect(mine.check(1000)).rejects.toMatchObject({ code: 'POLICY_NOT_IN_FORCE' });
  });

  it('shares one reading between concurrent checks', async () => {
    const store = memoryMeta();
    await takeConfigInForce(store, 'g1');
    const before = store.reads();
    const mine = configInForce(store, 'g1', () => 0);
    await Promise.all(Array.from({ length: 10 }, () => mine.check(1000)));
    expect(store.reads() - before).toBe(1);
  });
});

describe('takeConfigInForce: the audit trail of a config change', () => {
  const loaded = { time: '2026-12-06T14:00:00.000Z', actor: 'ops@gw1', file: '/etc/countersign.yaml', principals: [{ id: 'bob', kind: 'human', groups: ['sre'] }] };

  it('records config.loaded (old and new generation, who, the file, the principals without keys) when another config was in force', async () => {
    const store = memoryMeta();
    await takeConfigInForce(store, 'g1', loaded);
    expect(store.events).toEqual([]); // the first start: policy.loaded says what started
    await takeConfigInForce(store, 'g1', loaded);
    expect(store.events).toEqual([]);
    await takeConfigInForce(store, 'g2', { ...loaded, principals: [] });
    expect(store.events).toEqual([
      { type: 'config.loaded', time: loaded.time, requestId: null, actor: 'ops@gw1', data: { old: 'g1', new: 'g2', file: loaded.file, principals: [] } },
    ]);
    expect(store.meta.get(CONFIG_GENERATION_KEY)).toBe('g2');
  });
});
