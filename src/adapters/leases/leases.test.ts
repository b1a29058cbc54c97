/**
 * Every Leases adapter against the contract: memory (instances on one table),
 * SQLite (instances on one file) and PostgreSQL (instances on one throwaway
 * database of the real server, each with its own session).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leasesContract } from '../../../test/contract/leases.ts';
import { eventually } from '../../../test/support/gateway.ts';
import { createTestDatabase } from '../../../test/support/postgres.ts';
import { silentRelay } from '../../../test/support/silent-relay.ts';
import { createSqliteStore } from '../store/sqlite/store.ts';
import { createMemoryLeases } from './memory.ts';
import { createPostgresLeases } from './postgres.ts';
import { createSqliteLeases } from './sqlite.ts';

leasesContract('memory', async () => {
  const table = new Map();
  return { open: async () => createMemoryLeases(table), cleanup: async () => {} };
}, { holderCanVanish: false });

leasesContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-leases-'));
  const path = join(dir, 'countersign.db');
  // The store makes the file and its `leases` table, as at gateway start.
  await createSqliteStore({ path }).close();
  // A holder that goes without closing simply stops renewing; its lease runs out after ttlMs.
  return {
    open: async () => createSqliteLeases({ path, ttlMs: 400 }),
    vanish: async () => {},
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}, { holderCanVanish: true });

const db = await createTestDatabase();
describe.skipIf(!db)('postgres leases', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db!.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  leasesContract('postgres', async () => ({
    open: async () => createPostgresLeases({ url: db!.url }),
    // The server ends the holder's session, as when its replica dies or its network goes: the lock goes with it.
    vanish: async () => {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(rows).toHaveLength(1);
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    },
    cleanup: async () => {},
  }), { holderCanVanish: true });

  // A partition, or a NAT that forgot the connection: no RST ever comes, so without a read timeout the holder's next
  // try would wait forever, and every try after it behind that one.
  it('answers a try in bounded time when the network to the database goes silent, and another leads once the server ends that session', async () => {
    const relay = await silentRelay(db!.url);
    const a = createPostgresLeases({ url: relay.url, connectTimeoutMs: 1000 });
    const b = createPostgresLeases({ url: db!.url });
    try {
      expect(await a.tryLead('sweep')).toBe(true);
      relay.freeze();
      expect(await a.tryLead('sweep')).toBe(false);
      // The next try does not queue behind the silent connection either.
      expect(await a.tryLead('sweep')).toBe(false);
      // The server ends the silent session (in a real partition, its keepalives tell it): another leads.
      await relay.close();
      await eventually(async () => ((await b.tryLead('sweep')) ? true : undefined), 10_000);
      expect(await a.tryLead('sweep')).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await relay.close();
    }
  }, 30_000);
});
