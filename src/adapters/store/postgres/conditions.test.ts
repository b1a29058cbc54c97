/**
 * Inserts under the config in force (MetaCondition) on one replica while
 * another replica changes it. The inserts of a batch go in one statement on
 * the head the first replica knows (append-sql.ts KNOWN_HEAD_WRITE), which
 * must read the config itself: a change that appends no event leaves that
 * head as known, and one that does races the statement. Either way an insert
 * lands wholly before the change, or is refused with the insert's own error
 * and nothing of it written, and the log stays one chain.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../../core/audit.ts';
import type { MetaCondition, Store } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { auditDraft, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';

const db = await createTestDatabase();
const KEY = 'config.generation';
const under = (value: string): MetaCondition => ({ key: KEY, value, refuse: (found) => new Error(`in force: ${found ?? 'none'}`) });
const running = (): RequestRecord => requestRecord({ status: 'executing' });
const insert = (store: Store, r: RequestRecord, value: string): Promise<string> =>
  store.insertRequest(r, [auditDraft('request.submitted', r.id)], under(value)).then(
    () => 'inserted',
    (e: unknown) => (e as Error).message,
  );

async function chainOk(store: Store): Promise<void> {
  const verifier = createChainVerifier();
  for (const row of await store.readAuditRaw(1, 100_000)) expect(verifier.push(row)).toBeNull();
  expect(verifier.finish().ok).toBe(true);
}

describe.skipIf(!db)('postgres inserts under a meta value another replica changes', () => {
  afterAll(() => db?.drop());

  async function replicas(): Promise<[Store, Store]> {
    const a = await createPostgresStore({ url: db!.url, poolSize: 4 });
    const b = await createPostgresStore({ url: db!.url, poolSize: 2 });
    return [a, b];
  }

  it('refuses them once the other replica changed it with no event, on the head this replica still knows', async () => {
    const [a, b] = await replicas();
    try {
      await b.appendAudit([], { [KEY]: 'gen-1' });
      const first = running();
      expect(await insert(a, first, 'gen-1')).toBe('inserted');
      await b.appendAudit([], { [KEY]: 'gen-2' });
      const stale = [running(), running(), running(), running()];
      expect(await Promise.all(stale.map((r) => insert(a, r, 'gen-1')))).toEqual(stale.map(() => 'in force: gen-2'));
      for (const r of stale) expect(await a.getRequest(r.id)).toBeUndefined();
      const after = running();
      expect(await insert(a, after, 'gen-2')).toBe('inserted');
      expect((await a.readAudit(1, 100)).map((e) => e.requestId)).toEqual([first.id, after.id]);
      await chainOk(a);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('racing the change on the other replica, each insert lands before it in the log or is refused with nothing written', async () => {
    const [a, b] = await replicas();
    try {
      await b.appendAudit([], { [KEY]: 'gen-1' });
      await insert(a, running(), 'gen-1');
      const rs = Array.from({ length: 60 }, running);
      const outcomes: Promise<string>[] = [];
      let change: Promise<void> | undefined;
      // In waves, so batches on the known head are in flight as the change commits.
      for (const [i, r] of rs.entries()) {
        outcomes.push(insert(a, r, 'gen-1'));
        if (i % 6 === 5) await new Promise((resolve) => setImmediate(resolve));
        if (i === 20) change = b.appendAudit([auditDraft('config.loaded', null)], { [KEY]: 'gen-2' });
      }
      const done = await Promise.all(outcomes);
      await change;
      expect(done.filter((o) => o !== 'inserted' && o !== 'in force: gen-2')).toEqual([]);
      const log = await a.readAudit(1, 100_000);
      const changedAt = log.findIndex((e) => e.type === 'config.loaded');
      expect(changedAt).toBeGreaterThan(0);
      for (const [i, r] of rs.entries()) {
        const at = log.findIndex((e) => e.requestId === r.id);
        if (done[i] === 'inserted') {
          expect(await a.getRequest(r.id)).toEqual(r);
          expect(at).toBeGreaterThan(0);
          expect(at).toBeLessThan(changedAt);
        } else {
          expect(await a.getRequest(r.id)).toBeUndefined();
          expect(at).toBe(-1);
        }
      }
      expect(await insert(a, running(), 'gen-1')).toBe('in force: gen-2');
      expect(await insert(a, running(), 'gen-2')).toBe('inserted');
      await chainOk(a);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
