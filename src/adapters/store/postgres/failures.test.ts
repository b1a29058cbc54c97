/**
 * The PostgreSQL store when things go wrong: it fails closed with a code the
 * callers understand (AUDIT_WRITE_FAILED, STORE_BUSY, STORE_UNAVAILABLE),
 * never hangs, never crashes the process, never shows the database
 * password, and works again by itself once the database is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CountersignError } from '../../../core/errors.ts';
import type { Store } from '../../../core/ports.ts';
import { transition } from '../../../core/request.ts';
import { auditDraft, FIXTURE_TIME, human, requestRecord, reviewOf } from '../../../../test/support/fixtures.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { silentRelay } from '../../../../test/support/silent-relay.ts';
import { createPostgresStore, type PostgresStoreOptions } from './index.ts';
import { emptyStore } from '../../../../test/support/postgres-store.ts';

const db = await createTestDatabase();
const PASSWORD = 's3cret-pw';

async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: db!.url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** The rejection of `p`, which must be a CountersignError. */
async function failure(p: Promise<unknown>): Promise<CountersignError> {
  const e: unknown = await p.then(
    () => new Error('expected the call to fail'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CountersignError);
  return e as CountersignError;
}

/** Everything a failure could show: message, details, stack. */
const shown = (e: CountersignError): string => `${e.message} ${JSON.stringify(e.details)} ${e.stack ?? ''} ${String(e)}`;

/** Waits until `n` backends of the test database wait on a lock (the observable sign they hold a pool connection). */
async function backendsWaitingOnLock(n: number): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 20_000; ) {
    const rows = await sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if ((rows[0]?.['n'] as number) >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${n} backends never waited on the lock`);
}

const serverWithoutTls = db ? (await sql('SHOW ssl'))[0]?.['ssl'] === 'off' : false;

describe.skipIf(!db)('postgres store failures', () => {
  const opened: Store[] = [];
  const holders: pg.Client[] = [];
  const children: ChildProcess[] = [];
  async function open(options: Partial<PostgresStoreOptions> = {}): Promise<Store> {
    const store = await createPostgresStore({ url: db!.url, poolSize: 4, ...options });
    opened.push(store);
    return store;
  }
  /** Locks the requests table from outside the store until the test ends (or `release`). */
  async function lockRequests(): Promise<{ release(): Promise<void> }> {
    const c = new pg.Client({ connectionString: db!.url });
    await c.connect();
    holders.push(c);
    await c.query('BEGIN');
    await c.query('LOCK TABLE requests IN ACCESS EXCLUSIVE MODE');
    return { release: () => c.query('ROLLBACK').then(() => {}) };
  }
  const withPassword = (url: string): string => {
    const u = new URL(url);
    u.username = 'postgres';
    u.password = PASSWORD;
    return u.toString();
  };

  beforeAll(async () => {
    await (await createPostgresStore({ url: db!.url })).close();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const c of holders.splice(0)) await c.end().catch(() => {});
    for (const s of opened.splice(0)) await s.close();
    await sql('DROP TRIGGER IF EXISTS t ON audit_events; DROP TRIGGER IF EXISTS die ON requests');
    await emptyStore(db!.url);
  });
  afterAll(() => db?.drop());

  describe('when the audit event cannot be written', () => {
    /** Makes every audit insert fail, as a full disk would, from outside the store. */
    async function breakAuditWrites(): Promise<void> {
      await sql(`CREATE OR REPLACE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
                 CREATE TRIGGER t BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION disk_full();`);
    }

    it('does not insert the request', async () => {
      const store = await open();
      await breakAuditWrites();
      const r = requestRecord({ reviews: [] });
      const e = await failure(store.insertRequest(r, [auditDraft('request.created', r.id)]));
      expect(e.code).toBe('AUDIT_WRITE_FAILED');
      expect(e.details['cause']).toContain('disk full');
      expect(await store.getRequest(r.id)).toBeUndefined();
      expect(await store.listRequests({})).toEqual([]);
    });

    it('does not change the request, and a write beside it in the same transaction still commits', async () => {
      const store = await open();
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.created', r.id)]);
      await breakAuditWrites();
      const approve = store.mutateRequest(r.id, (current) => {
        const review = reviewOf(current, human('carol', ['sre']));
        return { result: null, next: { ...transition(current, 'approved', FIXTURE_TIME), reviews: [review] }, review, audit: [auditDraft('request.approved', current.id)] };
      });
      // Same tick: shares approve's transaction, in its own savepoint.
      const silent = store.mutateRequest(r.id, () => ({ result: 'read', audit: [] }));
      expect((await failure(approve)).code).toBe('AUDIT_WRITE_FAILED');
      expect(await silent).toBe('read');
      expect(await store.getRequest(r.id)).toEqual(r);
      expect((await store.readAudit(1, 100)).map((e) => e.type)).toEqual(['request.created']);
    });
  });

  it('answers STORE_BUSY instead of waiting forever when every pool connection stays busy', async () => {
    const store = await open({ poolSize: 2, connectTimeoutMs: 300 });
    const r = requestRecord();
    await store.insertRequest(r, []);
    const lock = await lockRequests();
    const held = [store.getRequest(r.id), store.getRequest(r.id)];
    await backendsWaitingOnLock(2);

    const e = await failure(store.getRequest(r.id));
    expect(e.code).toBe('STORE_BUSY');
    expect((await failure(store.insertRequest(requestRecord(), []))).code).toBe('STORE_BUSY');

    await lock.release();
    expect(await Promise.all(held)).toEqual([r, r]);
  });

  it('sets statement_timeout on its connections: a statement stuck behind a lock ends as STORE_BUSY', async () => {
    const store = await open({ statementTimeoutMs: 200 });
    await lockRequests();
    const e = await failure(store.getRequest('req_1'));
    expect(e.code).toBe('STORE_BUSY');
  });

  it('fails a whole batch stuck behind a lock as STORE_BUSY at once, not one write after the other', async () => {
    const store = await open({ statementTimeoutMs: 300 });
    const r = requestRecord();
    await store.insertRequest(r, [auditDraft('request.created', r.id)]);
    await lockRequests();
    const started = Date.now();
    // Same tick: one transaction of 20 writes, whose first statement outlives its timeout.
    const writes = Array.from({ length: 20 }, () => failure(store.mutateRequest(r.id, () => ({ result: null, audit: [auditDraft('stuck', r.id)] }))));
    expect((await Promise.all(writes)).map((e) => e.code)).toEqual(Array.from({ length: 20 }, () => 'STORE_BUSY'));
    // Run again one by one, they would have waited 20 times 300 ms.
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('works again, without being reopened, after every connection to the database was killed', async () => {
    const store = await open({ url: withPassword(db!.url) });
    const r = requestRecord();
    await store.insertRequest(r, [auditDraft('request.created', r.id)]);
    await Promise.all([store.getRequest(r.id), store.getRequest(r.id), store.readAudit(1, 10)]);

    const killed = await sql('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    expect(killed[0]?.['n']).toBeGreaterThan(0);

    expect(await store.getRequest(r.id)).toEqual(r);
    await store.mutateRequest(r.id, (c) => ({ result: null, next: transition(c, 'approved', FIXTURE_TIME), audit: [auditDraft('request.approved', c.id)] }));
    expect((await store.getRequest(r.id))?.status).toBe('approved');
    expect((await store.readAudit(1, 10)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('reports a COMMIT whose connection died as STORE_UNAVAILABLE: its outcome is unknown, so nothing may act on it', async () => {
    const store = await open();
    // Kills its own connection at COMMIT time, after every statement of the write succeeded.
    await sql(`CREATE OR REPLACE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
               CREATE CONSTRAINT TRIGGER die AFTER INSERT ON requests DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die();`);
    const r = requestRecord();
    const e = await failure(store.insertRequest(r, [auditDraft('request.created', r.id)]));
    expect(e.code).toBe('STORE_UNAVAILABLE');

    await sql('DROP TRIGGER die ON requests');
    const next = requestRecord();
    await store.insertRequest(next, [auditDraft('request.created', next.id)]);
    expect((await store.readAudit(1, 10)).map((x) => x.requestId)).toEqual([next.id]);
  });

  it('reports a write sent as one statement whose connection died at its commit as STORE_UNAVAILABLE: its outcome is unknown', async () => {
    const store = await open();
    // The head is known after a first write: the next one goes as one statement without BEGIN, committing on its own.
    const first = requestRecord();
    await store.insertRequest(first, [auditDraft('request.created', first.id)]);
    await sql(`CREATE OR REPLACE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
               CREATE CONSTRAINT TRIGGER die AFTER INSERT ON requests DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die();`);
    const r = requestRecord();
    const e = await failure(store.insertRequest(r, [auditDraft('request.created', r.id)]));
    expect(e.code).toBe('STORE_UNAVAILABLE');

    await sql('DROP TRIGGER die ON requests');
    const next = requestRecord();
    await store.insertRequest(next, [auditDraft('request.created', next.id)]);
    expect((await store.readAudit(1, 10)).map((x) => x.requestId)).toEqual([first.id, next.id]);
  });

  it('frees the audit head within idleInTransactionTimeoutMs when a replica freezes mid-write holding it, so other replicas write again', async () => {
    const other = await open({ statementTimeoutMs: 8_000 });
    const r = requestRecord();
    await other.insertRequest(r, [auditDraft('request.created', r.id)]);
    // The frozen replica will lock its request's row, then wait for the audit head held here; it is frozen while it waits.
    const row = new pg.Client({ connectionString: db!.url });
    await row.connect();
    holders.push(row);
    await row.query('BEGIN');
    await row.query('SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE');

    const child: ChildProcess = spawn(process.execPath, ['bin/run-ts.js', 'test/support/postgres-store-child.ts', JSON.stringify({ url: db!.url, poolSize: 1, idleInTransactionTimeoutMs: 1_000 })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const out = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await out.next()).value).toBe('ready');
    child.stdin!.write(`${r.id}\n`);
    await backendsWaitingOnLock(1);
    child.kill('SIGSTOP');
    // Its statement now completes on the server, but the frozen replica never sends the next one: idle in transaction, head locked.
    await row.query('ROLLBACK');
    for (const started = Date.now(); ; ) {
      const idle = await sql(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`);
      if (idle.length > 0) break;
      if (Date.now() - started > 20_000) throw new Error('the frozen replica never sat idle in its transaction');
      await new Promise((res) => setTimeout(res, 20));
    }

    await other.appendAudit([auditDraft('after.freeze', null)]);
    expect((await other.readAudit(1, 10)).map((e) => e.type)).toEqual(['request.created', 'after.freeze']);
  }, 60_000);

  it('fails a write as STORE_UNAVAILABLE, instead of hanging, when the database goes silent mid-write; writes again once it answers', async () => {
    const relay = await silentRelay(db!.url);
    try {
      const store = await open({ url: relay.url, poolSize: 1, statementTimeoutMs: 500, connectTimeoutMs: 500 });
      const r = requestRecord();
      await store.insertRequest(r, [auditDraft('request.created', r.id)]);
      relay.freeze();
      const lost = requestRecord();
      const e = await failure(store.insertRequest(lost, [auditDraft('request.created', lost.id)]));
      expect(e.code).toBe('STORE_UNAVAILABLE');
      // The writer is not stuck behind the silent connection: the next write goes through once the network is back.
      relay.thaw();
      const next = requestRecord();
      await store.insertRequest(next, [auditDraft('request.created', next.id)]);
      expect((await store.listRequests({})).map((x) => x.id)).toEqual([next.id, r.id]);
    } finally {
      await relay.close();
    }
  }, 20_000);

  it('fails a read as STORE_UNAVAILABLE after one wait when the database goes silent, not once per pooled connection', async () => {
    const relay = await silentRelay(db!.url);
    try {
      const store = await open({ url: relay.url, poolSize: 3, statementTimeoutMs: 500, connectTimeoutMs: 500 });
      const r = requestRecord();
      await store.insertRequest(r, []);
      // Three connections open and idle in the pool, each of which would wait as long as the first.
      const lock = await lockRequests();
      const held = [store.getRequest(r.id), store.getRequest(r.id), store.getRequest(r.id)];
      await backendsWaitingOnLock(3);
      await lock.release();
      await Promise.all(held);

      relay.freeze();
      expect((await failure(store.getRequest(r.id))).code).toBe('STORE_UNAVAILABLE');
      expect(relay.sentWhileFrozen()).toBe(1);
    } finally {
      await relay.close();
    }
  }, 20_000);

  // Needs a server without TLS (the test server has none).
  it.skipIf(!serverWithoutTls)('hands ssl to the driver: asking for TLS from a server without it fails closed, naming why', async () => {
    const e = await failure(createPostgresStore({ url: db!.url, ssl: { rejectUnauthorized: true } }));
    expect(e.code).toBe('STORE_UNAVAILABLE');
    expect(e.details['cause']).toMatch(/SSL/i);
  });

  describe('never shows the database password', () => {
    it('when nothing answers at the address', async () => {
      const e = await failure(createPostgresStore({ url: `postgres://postgres:${PASSWORD}@127.0.0.1:1/countersign`, connectTimeoutMs: 2000 }));
      expect(e.code).toBe('STORE_UNAVAILABLE');
      expect(shown(e)).not.toContain(PASSWORD);
    });

    it('when the database does not exist', async () => {
      const e = await failure(createPostgresStore({ url: `postgres://postgres:${PASSWORD}@127.0.0.1:5432/cs_no_such_db` }));
      expect(e.code).toBe('STORE_UNAVAILABLE');
      expect(e.details['cause']).toContain('does not exist');
      expect(shown(e)).not.toContain(PASSWORD);
    });

    it('when the URL is malformed', async () => {
      const e = await failure(createPostgresStore({ url: `postgres://postgres:${PASSWORD}@127.0.0.1:notaport/x` }));
      expect(shown(e)).not.toContain(PASSWORD);
    });

    it('when the connection is lost under a store that was working', async () => {
      const store = await open({ url: withPassword(db!.url) });
      await sql(`CREATE OR REPLACE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
                 CREATE CONSTRAINT TRIGGER die AFTER INSERT ON requests DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die();`);
      const e = await failure(store.insertRequest(requestRecord(), []));
      expect(e.code).toBe('STORE_UNAVAILABLE');
      expect(shown(e)).not.toContain(PASSWORD);
    });
  });
});
