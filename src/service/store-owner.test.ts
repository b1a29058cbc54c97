import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import { isCountersignError } from '../core/errors.ts';
import type { Store } from '../core/ports.ts';
import { adoptStore, checkStoreOwner, STORE_CONFIG_KEY } from './store-owner.ts';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

function store(): Store {
  const s = createSqliteStore({ path: ':memory:' });
  stores.push(s);
  return s;
}

const identify = (f: string) => (f.startsWith('/') ? f : `/srv/${f.replace(/^\.\//, '')}`);
const loaded = (s: Store, file: string) => s.appendAudit([{ type: 'policy.loaded', time: '2026-12-01T00:00:00.000Z', requestId: null, actor: 'ops@host', data: { file } }], { 'policy.hash': 'sha256:x' });
const check = (s: Store, config: string, claim = true) => checkStoreOwner({ store: s }, { config, where: '/srv/.countersign/countersign.db', claim, identify });

async function refusal(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('checkStoreOwner', () => {
  it('claims a new store for the first config, then refuses any other', async () => {
    const s = store();
    await check(s, '/srv/countersign.yaml');
    expect(await s.getMeta(STORE_CONFIG_KEY)).toBe('/srv/countersign.yaml');
    await check(s, '/srv/countersign.yaml');
    const e = await refusal(check(s, '/srv/other.yaml'));
    expect(isCountersignError(e, 'STORE_OF_ANOTHER_CONFIG')).toBe(true);
    expect((e as Error).message).toContain('made for the configuration /srv/countersign.yaml, not for /srv/other.yaml');
  });

  it('names the setting of the store in use, so a PostgreSQL config is not told to change a SQLite path', async () => {
    const s = store();
    await check(s, '/srv/countersign.yaml');
    const e = await refusal(checkStoreOwner({ store: s }, { config: '/srv/other.yaml', where: 'postgres://db.internal:5432/countersign', setting: 'store.postgres.url', claim: false, identify }));
    expect(isCountersignError(e, 'STORE_OF_ANOTHER_CONFIG')).toBe(true);
    expect((e as Error).message).toContain('the store at postgres://db.internal:5432/countersign was made for the configuration /srv/countersign.yaml');
    expect((e as Error).message).toContain('(store.postgres.url, audit.keyDir)');
    expect((e as Error).message).not.toContain('store.sqlite');
  });

  it('a process joining a store claims nothing', async () => {
    const s = store();
    await check(s, '/srv/countersign.yaml', false);
    expect(await s.getMeta(STORE_CONFIG_KEY)).toBeUndefined();
  });

  it('knows a store from before stores named their config by its last policy.loaded file', async () => {
    const demo = store();
    await loaded(demo, '/srv/countersign.yaml');
    await loaded(demo, './.countersign/demo.yaml');
    const e = await refusal(check(demo, '/srv/countersign.yaml'));
    expect(isCountersignError(e, 'STORE_OF_ANOTHER_CONFIG')).toBe(true);
    expect((e as Error).message).toContain('made for the configuration /srv/.countersign/demo.yaml');
    expect(await demo.getMeta(STORE_CONFIG_KEY)).toBeUndefined();

    const own = store();
    await loaded(own, './countersign.yaml');
    await check(own, '/srv/countersign.yaml');
    expect(await own.getMeta(STORE_CONFIG_KEY)).toBe('/srv/countersign.yaml');

    const embedded = store();
    await loaded(embedded, '(in memory)');
    await check(embedded, '/srv/countersign.yaml');
    expect(await embedded.getMeta(STORE_CONFIG_KEY)).toBe('/srv/countersign.yaml');
  });

  it('adopting moves the store to another config, as an audit event naming the one it left', async () => {
    const s = store();
    await check(s, '/srv/.countersign/demo/demo.yaml');
    expect(await adoptStore({ store: s, clock: { now: () => new Date('2026-12-05T08:00:00Z') } }, { config: '/srv/countersign.yaml', by: 'ops@host' })).toEqual({ from: '/srv/.countersign/demo/demo.yaml', changed: true });
    await check(s, '/srv/countersign.yaml');
    expect(isCountersignError(await refusal(check(s, '/srv/.countersign/demo/demo.yaml')), 'STORE_OF_ANOTHER_CONFIG')).toBe(true);
    const events = await s.searchAudit({ types: ['store.adopted'] });
    expect(events.map((e) => [e.actor, e.data])).toEqual([['ops@host', { from: '/srv/.countersign/demo/demo.yaml', config: '/srv/countersign.yaml' }]]);
  });
});
