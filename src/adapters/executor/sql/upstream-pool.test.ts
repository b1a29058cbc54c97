/**
 * The upstream pool against the real PostgreSQL: a session comes back to the
 * next client only after its holder called it clean and DISCARD ALL left the
 * backend idle; otherwise it is closed and the next client gets a new backend.
 */
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { query, scalar } from '../../../../test/support/upstream-query.ts';
import { createUpstreamPool, type UpstreamPool } from './upstream-pool.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('upstream pool', () => {
  let admin: pg.Client;
  const pools: UpstreamPool[] = [];
  const pool = (o: { max?: number; idleMs?: number } = {}): UpstreamPool => {
    const p = createUpstreamPool({ name: 'orders', url: db?.url ?? '', ...o });
    pools.push(p);
    return p;
  };
  /** Polls until `check` holds: for outcomes that come after a close travels to the server. */
  const until = async (check: () => boolean | Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in 15 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const backendGone = (pid: number) => async () =>
    (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db?.url });
    await admin.connect();
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await admin?.end();
    await db?.drop();
  });

  it('gives a released session back after DISCARD ALL, with what its last holder set undone', async () => {
    const p = pool();
    const first = await p.acquire();
    await query(first, "SET work_mem = '1234kB'; PREPARE q AS SELECT 1");
    await p.release(first, { reusable: true });
    const second = await p.acquire();
    expect(second.pid).toBe(first.pid);
    expect(second.closed).toBe(false);
    expect(await scalar(second, 'SHOW work_mem')).not.toBe('1234kB');
    expect(await scalar(second, 'SELECT count(*) FROM pg_prepared_statements')).toBe('0');
    expect(await scalar(second, 'SHOW standard_conforming_strings')).toBe('on');
  });

  it('closes a session released as not reusable; the next client gets a new backend', async () => {
    const p = pool();
    const first = await p.acquire();
    await p.release(first, { reusable: false });
    expect(first.closed).toBe(true);
    const second = await p.acquire();
    expect(second.pid).not.toBe(first.pid);
    await until(backendGone(first.pid));
  });

  it('closes a session left in a transaction, though its holder called it reusable', async () => {
    const p = pool();
    const first = await p.acquire();
    await query(first, 'BEGIN');
    await p.release(first, { reusable: true });
    expect(first.closed).toBe(true);
    expect((await p.acquire()).pid).not.toBe(first.pid);
  });

  it('closes a session whose holder left an answer unread', async () => {
    const p = pool();
    const first = await p.acquire();
    first.onData(() => {});
    first.write(serialize.query('SELECT 1'));
    first.onData(undefined); // the holder walks away; what arrives now is the pool's to read
    await p.release(first, { reusable: true });
    expect(first.closed).toBe(true);
  });

  it('keeps at most `max` idle sessions', async () => {
    const p = pool({ max: 1 });
    const a = await p.acquire();
    const b = await p.acquire();
    await p.release(a, { reusable: true });
    await p.release(b, { reusable: true });
    expect(a.closed).toBe(false);
    expect(b.closed).toBe(true);
    expect((await p.acquire()).pid).toBe(a.pid);
  });

  it('closes a session idle past idleMs', async () => {
    const p = pool({ idleMs: 50 });
    const first = await p.acquire();
    await p.release(first, { reusable: true });
    await until(() => first.closed);
    expect((await p.acquire()).pid).not.toBe(first.pid);
    await until(backendGone(first.pid));
  });

  it('ends its idle sessions on close() and hands out no more', async () => {
    const p = pool();
    const first = await p.acquire();
    await p.release(first, { reusable: true });
    expect(first.closed).toBe(false);
    await p.close();
    expect(first.closed).toBe(true);
    await until(backendGone(first.pid));
    await expect(p.acquire()).rejects.toThrow(/closed/);
  });
});
