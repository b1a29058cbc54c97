import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import { leafHash, memorySource, rootAt, toHex } from '../../../core/merkle/index.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Store } from '../../../core/ports.ts';
import { transition, type RequestRecord } from '../../../core/request.ts';
import { storeContract } from '../../../../test/contract/store.ts';
import { treeContract, type TreeTables } from '../../../../test/contract/store-tree.ts';
import { searchContract } from '../../../../test/contract/store-search.ts';
import { sessionContract } from '../../../../test/contract/store-sessions.ts';
import { outboxContract } from '../../../../test/contract/store-outbox.ts';
import { at, auditDraft, FIXTURE_TIME, human, requestRecord, reviewOf } from '../../../../test/support/fixtures.ts';
import { createSqliteStore } from './store.ts';
import { MIGRATIONS } from './schema.ts';
import { TERMS_SCHEMA } from './search.ts';
import { termSetsFromRequestTerms } from './term-sets.ts';
import { requestTerms } from '../../../core/request-terms.ts';
import { EXPECTED_ANSWERS, searchAnswers, writeSearchable } from '../../../../test/support/term-upgrade.ts';

async function onFile() {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-store-'));
  const path = join(dir, 'countersign.db');
  const store = createSqliteStore({ path });
  const others: Store[] = [];
  /** A statement on a connection of its own, as from another process. */
  const outside = <T>(use: (raw: Database.Database) => T): T => {
    const raw = new Database(path);
    try {
      return use(raw);
    } finally {
      raw.close();
    }
  };
  const tables: TreeTables = {
    nodes: async () => outside((raw) => raw.prepare('SELECT level, idx FROM merkle_nodes').raw().all() as [number, number][]),
    async putNode(level, index, hash) {
      outside((raw) => raw.prepare('INSERT OR IGNORE INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)').run(level, index, Buffer.from(hash)));
    },
    async deleteNode(level, index) {
      outside((raw) => raw.prepare('DELETE FROM merkle_nodes WHERE level = ? AND idx = ?').run(level, index));
    },
    async setBody(seq, body) {
      outside((raw) => raw.prepare('UPDATE audit_events SET body = ? WHERE seq = ?').run(body, seq));
    },
    async deleteEvent(seq) {
      outside((raw) => raw.prepare('DELETE FROM audit_events WHERE seq = ?').run(seq));
    },
    async reopen() {
      const other = createSqliteStore({ path });
      others.push(other);
      return other;
    },
  };
  return {
    store,
    tables,
    rows: async (table: string) => outside((raw) => raw.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number),
    async cleanup() {
      for (const s of [store, ...others]) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

storeContract('sqlite store (file)', onFile);
outboxContract('sqlite store (memory)', async (outbox) => {
  const store = createSqliteStore({ path: ':memory:', outbox });
  return { store, cleanup: () => store.close() };
});
treeContract('sqlite store (file)', onFile);
searchContract('sqlite store (file)', onFile);
sessionContract('sqlite store (file)', onFile);

storeContract('sqlite store (:memory:)', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  return { store, cleanup: () => store.close() };
});

describe('sqlite store on a file', () => {
  let dir: string;
  let path: string;
  const opened: Store[] = [];

  function open(): Store {
    const store = createSqliteStore({ path });
    opened.push(store);
    return store;
  }

  /** Makes every audit insert fail, as a full disk would, from outside the store. */
  function breakAuditWrites(): void {
    const other = new Database(path);
    other.exec(`CREATE TRIGGER t BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    other.close();
  }

  /** A store whose outbox router fails on an event of type `boom`: that write fails after its events were appended. */
  function openRefusingBoom(): Store {
    const store = createSqliteStore({
      path,
      outbox: (d) => {
        if (d.type === 'boom') throw new Error('no route');
        return [];
      },
    });
    opened.push(store);
    return store;
  }

  async function auditFailure(p: Promise<unknown>): Promise<CountersignError> {
    const e: unknown = await p.then(
      () => new Error('expected the write to fail'),
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(CountersignError);
    return e as CountersignError;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-store-'));
    path = join(dir, 'nested', 'countersign.db');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits concurrent writes together, yet each one alone: a failing write rolls back only itself', async () => {
    const store = open();
    const writes = Array.from({ length: 40 }, (_, i) =>
      // Write 17 reuses write 16's id: the primary key refuses it, inside the same batch.
      store.insertRequest(requestRecord({ id: `r${i === 17 ? 16 : i}` }), [auditDraft('request.submitted', `r${i}`)]),
    );
    const settled = await Promise.allSettled(writes);
    expect(settled.filter((x) => x.status === 'rejected')).toHaveLength(1);
    expect(settled[17]!.status).toBe('rejected');
    expect(await store.listRequests({ limit: 1000 })).toHaveLength(39);
    const events = await store.readAudit(1, 1000);
    expect(events.map((e) => e.requestId)).not.toContain('r17');
    expect(events).toHaveLength(39);
    const verifier = createChainVerifier();
    for (const e of events) expect(verifier.push(e)).toBeNull();
  });

  it('keeps the Merkle tree true to the log when a write rolled back here and another process then appended as many events', async () => {
    // The event `boom` cannot be enqueued for delivery: its write rolls back after its leaf went into this store's edge.
    const router: OutboxRouter = (e) => (e.type === 'boom' ? [{ channel: 'broken', event: e.type, requestId: null, payload: {}, createdAt: e.time }] : []);
    const here = createSqliteStore({ path, outbox: router });
    opened.push(here);
    await here.appendAudit([auditDraft('first', null)]);
    const raw = new Database(path);
    raw.exec(`CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.channel = 'broken' BEGIN SELECT RAISE(ABORT, 'channel refused'); END;`);
    raw.close();
    await expect(here.appendAudit([auditDraft('boom', null)])).rejects.toThrow();
    // Another process appends one event: the log is as long as this store's edge, but ends elsewhere.
    await open().appendAudit([auditDraft('other', null)]);
    // Past 16 events, so this store also writes a stored subtree over them.
    for (let i = 0; i < 20; i++) await here.appendAudit([auditDraft('after', null, { i })]);

    const events = await here.readAudit(1, 100);
    expect(events.map((e) => e.type).slice(0, 3)).toEqual(['first', 'other', 'after']);
    const source = memorySource(events.map((e) => leafHash(e.body)));
    const head = { size: 22, root: toHex(rootAt(source, 22)) };
    expect(await here.treeHead()).toEqual(head);
    const fresh = open();
    expect(await fresh.treeHead()).toEqual(head);
    expect(await fresh.rootAt(16)).toBe(toHex(rootAt(source, 16)));
  });

  it('takes back a lone write that fails after appending its events, and the next write goes on from the log before it', async () => {
    const store = openRefusingBoom();
    await store.appendAudit([auditDraft('before', null)]);
    // Alone in its batch (awaited one at a time): no savepoint, the transaction's rollback takes it back.
    await expect(store.appendAudit([auditDraft('doomed', null), auditDraft('boom', null)])).rejects.toThrow('no route');
    const r = requestRecord();
    await expect(store.insertRequest(r, [auditDraft('request.submitted', r.id)])).resolves.toBeUndefined();
    await expect(store.insertRequest(r, [auditDraft('request.submitted', r.id)])).rejects.toThrow();
    await store.appendAudit([auditDraft('after', null)]);
    const events = await store.readAudit(1, 100);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'before'],
      [2, 'request.submitted'],
      [3, 'after'],
    ]);
    const verifier = createChainVerifier();
    for (const e of events) verifier.push(e);
    expect(verifier.finish()).toMatchObject({ ok: true, count: 3 });
    expect(await open().treeHead()).toEqual(await store.treeHead());
  });

  it('continues the chain from what the batch kept when a write fails after appending its own events', async () => {
    // The router fails after the write's events are in the log: its savepoint takes them back, and the writes after
    // it in the same batch must chain on the event before them, not on the rolled-back ones.
    const store = openRefusingBoom();
    const settled = await Promise.allSettled([
      store.appendAudit([auditDraft('before', null)]),
      store.appendAudit([auditDraft('doomed', null), auditDraft('boom', null)]),
      store.appendAudit([auditDraft('after', null), auditDraft('after', null)]),
    ]);
    expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const events = await store.readAudit(1, 100);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'before'],
      [2, 'after'],
      [3, 'after'],
    ]);
    const verifier = createChainVerifier();
    for (const e of events) verifier.push(e);
    expect(verifier.finish()).toMatchObject({ ok: true, count: 3 });
    // The tree agrees with the log: a fresh store over the same file computes the same root.
    const reopened = open();
    expect(await reopened.treeHead()).toEqual(await store.treeHead());
  });

  it('waits for the write lock another process holds without stopping this one: it keeps serving, then writes', async () => {
    const store = open();
    await store.appendAudit([auditDraft('first', null)]);
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const write = store.appendAudit([auditDraft('second', null)]);
    // A write lock waited for inside SQLite would hold up this timer, and the COMMIT below, until the wait gave up.
    await new Promise((r) => setTimeout(r, 30));
    expect(await store.readAudit(1, 10)).toHaveLength(1);
    other.exec('COMMIT');
    other.close();
    await write;
    expect((await store.readAudit(1, 10)).map((e) => e.type)).toEqual(['first', 'second']);
  });

  it('builds the audit tree for a log written before the tree existed, on the next open', async () => {
    const first = open();
    await first.appendAudit(Array.from({ length: 9 }, (_, i) => auditDraft('tick', null, { i })));
    const expected = await first.treeHead();
    await first.close();
    // Back to the schema before the tree: no nodes table, and its steps not yet applied.
    const raw = new Database(path);
    raw.exec("DROP TABLE merkle_nodes; DELETE FROM schema_migrations WHERE version IN (3, 4);");
    raw.close();
    expect(await open().treeHead()).toEqual(expected);
  });

  it('upgrades a file that kept a row per request and term: every search finds what it found before, through term sets', async () => {
    const first = open();
    await writeSearchable(first);
    await first.close();
    // Back to the schema before term sets, with request_terms as the code before them wrote it: a row per term of each
    // stored record, and one more (a term since gone from requestTerms) that the upgrade must keep findable.
    const raw = new Database(path);
    const step = MIGRATIONS.indexOf(termSetsFromRequestTerms) + 1;
    expect(step).toBeGreaterThan(0);
    raw.exec(`DROP INDEX requests_term_set; ALTER TABLE requests DROP COLUMN term_set; DROP TABLE term_sets; DROP TABLE term_set_members; ${TERMS_SCHEMA}`);
    const insert = raw.prepare('INSERT INTO request_terms (term, request_id) VALUES (?, ?)');
    for (const row of raw.prepare('SELECT id, record FROM requests').all() as { id: string; record: string }[]) {
      for (const term of requestTerms(JSON.parse(row.record) as RequestRecord)) insert.run(term, row.id);
    }
    insert.run('tag:legacy', 'r0');
    raw.prepare('DELETE FROM schema_migrations WHERE version = ?').run(step);
    raw.close();

    const upgraded = open();
    expect(await searchAnswers(upgraded)).toEqual(EXPECTED_ANSWERS);
    expect((await upgraded.listRequests({ tag: 'legacy' })).map((r) => r.id)).toEqual(['r0']);
    const count = (sql: string) => {
      const check = new Database(path, { readonly: true });
      try {
        return check.prepare(sql).pluck().get() as number;
      } finally {
        check.close();
      }
    };
    expect(count(`SELECT count(*) FROM sqlite_master WHERE name = 'request_terms'`)).toBe(0);
    // Orders and billing, each allowed and approved, and billing denied (r11's replaced decision); r0's own.
    expect(count('SELECT count(*) FROM term_sets')).toBe(6);
    // A request written now with a set the upgrade made takes that set.
    await upgraded.insertRequest(requestRecord({ id: 'r12', createdAt: at(30) }), [auditDraft('request.submitted', 'r12', {}, at(30))]);
    expect(count('SELECT count(*) FROM term_sets')).toBe(6);
    expect((await upgraded.listRequests({ tag: 'env=prod', limit: 2 })).map((r) => r.id)).toEqual(['r12', 'r10']);
  });

  it('forgets humans remembered at sign-in under the rules before provider groups needed a mapping, on the next open', async () => {
    const first = open();
    await first.rememberHuman({ id: 'Dana@Example.com', email: 'dana@example.com', groups: ['admins'], issuer: 'https://idp.example.com', subject: 'd1', seenAt: FIXTURE_TIME.toISOString() });
    await first.close();
    // Back to the schema before that step (steps added since do not undo it).
    const raw = new Database(path);
    const step = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('DELETE FROM known_humans')) + 1;
    expect(step).toBeGreaterThan(0);
    raw.prepare('DELETE FROM schema_migrations WHERE version = ?').run(step);
    raw.close();
    expect(await open().knownHumanByEmail('dana@example.com')).toBeUndefined();
  });

  it('creates the directory of a new file', async () => {
    const store = open();
    const r = requestRecord();
    await store.insertRequest(r, []);
    expect(await store.getRequest(r.id)).toEqual(r);
  });

  it('does not insert a request when its audit event cannot be written', async () => {
    const store = open();
    breakAuditWrites();
    const r = requestRecord({ reviews: [] });

    const e = await auditFailure(store.insertRequest(r, [auditDraft('request.created', r.id)]));
    expect(e.code).toBe('AUDIT_WRITE_FAILED');
    expect(e.details['cause']).toContain('disk full');
    expect(await store.getRequest(r.id)).toBeUndefined();
    expect(await store.listRequests({})).toEqual([]);
  });

  it('does not change a request when the audit event of the change cannot be written', async () => {
    const store = open();
    const r = requestRecord();
    await store.insertRequest(r, [auditDraft('request.created', r.id)]);
    breakAuditWrites();

    const approve = store.mutateRequest(r.id, (current) => {
      const review = reviewOf(current, human('carol', ['sre']));
      return {
        result: null,
        next: { ...transition(current, 'approved', FIXTURE_TIME), reviews: [review] },
        review,
        audit: [auditDraft('request.approved', current.id)],
      };
    });
    expect((await auditFailure(approve)).code).toBe('AUDIT_WRITE_FAILED');
    expect(await store.getRequest(r.id)).toEqual(r);
    expect((await store.readAudit(1, 100)).map((e) => e.type)).toEqual(['request.created']);
  });

  it('shares the file with a second store (another process): it sees the writes and the chain continues without a fork', async () => {
    const first = open();
    const second = open();

    const r = requestRecord();
    await first.insertRequest(r, [auditDraft('request.created', r.id)]);
    expect(await second.getRequest(r.id)).toEqual(r);

    await second.mutateRequest(r.id, (current) => ({
      result: null,
      next: transition(current, 'approved', FIXTURE_TIME),
      audit: [auditDraft('request.approved', current.id)],
    }));
    expect((await first.getRequest(r.id))?.status).toBe('approved');

    await Promise.all([
      first.appendAudit([auditDraft('from.first', null), auditDraft('from.first', null)]),
      second.appendAudit([auditDraft('from.second', null)]),
      first.appendAudit([auditDraft('from.first', null)]),
    ]);

    const seen = await second.readAudit(1, 100);
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await first.readAudit(1, 100)).toEqual(seen);
    const verifier = createChainVerifier();
    for (const e of seen) verifier.push(e);
    expect(verifier.finish()).toMatchObject({ ok: true, count: 6 });
  });

  it('never writes an outcome over the known record once another process moved the request on (a run marked interrupted)', async () => {
    const runner = open();
    const sweeper = open();
    const claimed = requestRecord({ status: 'executing', expiresAt: null });
    await runner.insertRequest(claimed, [auditDraft('request.submitted', claimed.id)]);
    // Another process finds the run overdue and marks it interrupted, between the run and its outcome here.
    await sweeper.mutateRequest(claimed.id, (current) => {
      const next = transition(current, 'failed', FIXTURE_TIME, { error: { code: 'EXECUTION_INTERRUPTED', message: 'interrupted' } });
      return { result: next, next, audit: [auditDraft('request.failed', current.id)] };
    });
    const seen: string[] = [];
    const outcome = runner.mutateRequest(
      claimed.id,
      (current) => {
        seen.push(current.status);
        const next = transition(current, 'succeeded', FIXTURE_TIME);
        return { result: next, next, audit: [auditDraft('request.succeeded', current.id)] };
      },
      claimed,
    );
    await expect(outcome).rejects.toThrow(/illegal transition failed → succeeded/);
    // Tried on what the runner knew, then asked again of what is stored, which refused it.
    expect(seen).toEqual(['executing', 'failed']);
    expect(await sweeper.getRequest(claimed.id)).toMatchObject({ status: 'failed', version: claimed.version + 1, error: { code: 'EXECUTION_INTERRUPTED' } });
    expect((await sweeper.readAudit(1, 10)).map((e) => e.type)).toEqual(['request.submitted', 'request.failed']);
  });

  it('keeps requests and the chain across a restart', async () => {
    const before = open();
    const r = requestRecord();
    await before.insertRequest(r, [auditDraft('request.created', r.id)]);
    await before.close();

    const after = open();
    expect(await after.getRequest(r.id)).toEqual(r);
    await after.appendAudit([auditDraft('gateway.started', null)]);
    const verifier = createChainVerifier();
    for (const e of await after.readAudit(1, 100)) verifier.push(e);
    expect(verifier.finish()).toMatchObject({ ok: true, count: 2 });
  });
});
