/**
 * Filters on terms read the ids of the sets holding each term first, then
 * select requests by those ids (term-sets.ts termFilter). A set first seen
 * between the two, by a request committed before the selection, must still
 * be found: here another replica writes such a request at exactly that point.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../../../core/connection.ts';
import type { Store } from '../../../core/ports.ts';
import { at, auditDraft, requestRecord } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';
import type { Run } from './pool.ts';
import { listRequests } from './requests.ts';
import { searchAudit } from './search.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('postgres term filters', () => {
  let store: Store;
  let pool: pg.Pool;
  beforeAll(async () => {
    store = await createPostgresStore({ url: db!.url, poolSize: 2 });
    pool = new pg.Pool({ connectionString: db!.url, max: 2 });
  });
  afterAll(async () => {
    await store?.close();
    await pool?.end();
    await db?.drop();
  });

  const on = (name: string, tags: ConnectionInfo['tags']): ConnectionInfo => ({ name, kind: 'postgres', tags });
  async function write(id: string, connection: ConnectionInfo, i: number): Promise<void> {
    await store.insertRequest(requestRecord({ id, connection, action: { ...requestRecord().action, connection: connection.name }, createdAt: at(i) }), [
      auditDraft('request.submitted', id, {}, at(i)),
    ]);
  }

  /** A Run over the pool that calls `between` once, right after the first read of set ids. */
  function runWith(between: () => Promise<void>): Run {
    let done = false;
    return (async (sql, values) => {
      const result = typeof sql === 'string' ? await pool.query(sql, values as unknown[]) : await pool.query({ ...sql, values: values as unknown[] });
      if (!done && typeof sql !== 'string' && sql.name === 'cs_term_sets_with') {
        done = true;
        await between();
      }
      return result;
    }) as Run;
  }

  it('finds a request whose set was first seen after the set ids were read, in listing and in audit search', async () => {
    await write('t1', on('a-db', { team: 'payments' }), 1);
    const listed = await listRequests(
      runWith(() => write('t2', on('b-db', { team: 'payments', env: 'prod' }), 2)),
      { tag: 'team=payments' },
    );
    expect(listed.map((r) => r.id)).toEqual(['t2', 't1']);
    const found = await searchAudit(
      runWith(() => write('t3', on('c-db', { team: 'payments', env: 'dev' }), 3)),
      { tag: 'team=payments' },
    );
    expect(found.map((e) => e.requestId)).toEqual(['t1', 't2', 't3']);
  });

  it('finds nothing for a term no set holds, and every request for one all sets hold', async () => {
    expect(await store.listRequests({ tag: 'team=nobody' })).toEqual([]);
    expect(await store.searchAudit({ tag: 'team=nobody', effect: 'approve' })).toEqual([]);
    expect((await store.searchAudit({ effect: 'approve', tag: 'team=payments' })).map((e) => e.requestId)).toEqual(['t1', 't2', 't3']);
    expect((await store.searchAudit({ effect: 'approve', tag: 'env=dev' })).map((e) => e.requestId)).toEqual(['t3']);
  });
});
