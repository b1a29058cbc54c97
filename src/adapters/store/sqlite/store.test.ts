import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../../core/audit.ts';
import { CountersignError } from '../../../core/errors.ts';
import { IdempotencyKeyTaken } from '../../../core/idempotency.ts';
import type { Store } from '../../../core/ports.ts';
import { transition } from '../../../core/request.ts';
import { storeContract } from '../../../../test/contract/store.ts';
import { treeContract, type TreeTables } from '../../../../test/contract/store-tree.ts';
import { searchContract } from '../../../../test/contract/store-search.ts';
import { reviewsContract } from '../../../../test/contract/store-reviews.ts';
import { sessionContract } from '../../../../test/contract/store-sessions.ts';
import { passkeyContract } from '../../../../test/contract/store-passkeys.ts';
import { grantContract } from '../../../../test/contract/store-grants.ts';
import { outboxContract } from '../../../../test/contract/store-outbox.ts';
import { approveDecision, at, auditDraft, FIXTURE_TIME, human, requestRecord, reviewOf } from '../../../../test/support/fixtures.ts';
import { createSqliteStore } from './store.ts';
import { MIGRATIONS } from './schema.ts';
import { recordOf } from './request-rows.ts';
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
passkeyContract('sqlite store (file)', onFile);
grantContract('sqlite store (file)', onFile);
reviewsContract('sqlite store (file)', onFile);

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
    for (const row of raw.prepare('SELECT id, record, state FROM requests').all() as { id: string; record: string; state: string | null }[]) {
      for (const term of requestTerms(recordOf(row))) insert.run(term, row.id);
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

  it('upgrades a file from before idempotency keys: its requests stay, keyed ones are one per principal and key', async () => {
    const first = open();
    const old = requestRecord();
    await first.insertRequest(old, [auditDraft('request.submitted', old.id)]);
    await first.close();
    // Back to the schema before the step: no column, no index, the step not applied.
    const raw = new Database(path);
    const step = MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('idempotency_key')) + 1;
    expect(step).toBeGreaterThan(0);
    raw.exec(`DROP INDEX requests_idempotency; ALTER TABLE requests DROP COLUMN idempotency_key; DELETE FROM schema_migrations WHERE version = ${step}`);
    raw.close();

    const upgraded = open();
    expect(await upgraded.getRequest(old.id)).toEqual(old);
    const keyed = requestRecord({ idempotencyKey: 'k' });
    await upgraded.insertRequest(keyed, []);
    await expect(upgraded.insertRequest(requestRecord({ idempotencyKey: 'k' }), [])).rejects.toBeInstanceOf(IdempotencyKeyTaken);
    expect(await upgraded.findRequestByIdempotencyKey(keyed.principal.id, 'k')).toEqual(keyed);
  });

  it('upgrades a file from before the escalation column: a pending request with a ladder is found due, others are not', async () => {
    const first = open();
    const ladder = { ...approveDecision(), escalations: [{ key: 'prod-writes#1', rule: 'prod-writes', afterSeconds: 60, groups: ['dba'], principals: [] }] };
    const laddered = requestRecord({ decision: ladder });
    const plain = requestRecord();
    const decided = requestRecord({ decision: ladder, status: 'approved' });
    for (const r of [laddered, plain, decided]) await first.insertRequest(r, []);
    await first.close();
    // Back to the schema before the step: no column, no index, the step not applied.
    const raw = new Database(path);
    const step = MIGRATIONS.findIndex((m) => typeof m === 'function' && m.toString().includes('escalate_at')) + 1;
    expect(step).toBeGreaterThan(0);
    raw.exec(`DROP INDEX requests_escalate_at; ALTER TABLE requests DROP COLUMN escalate_at; DELETE FROM schema_migrations WHERE version = ${step}`);
    raw.close();

    const upgraded = open();
    expect(await upgraded.escalationsDue(new Date(Date.parse(at(59))), 10)).toEqual([]);
    expect(await upgraded.escalationsDue(new Date(Date.parse(at(60))), 10)).toEqual([laddered.id]);
    expect(await upgraded.getRequest(laddered.id)).toEqual(laddered);
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

  it('writes an outcome as the state it changed, and reads back the record as it now is', async () => {
    const store = open();
    const claimed = { ...requestRecord({ status: 'executing', expiresAt: null }), runDeadline: at(60) };
    await store.insertRequest(claimed, [auditDraft('request.submitted', claimed.id)]);
    const row = () => {
      const raw = new Database(path, { readonly: true });
      try {
        return raw.prepare('SELECT status, version, record, state FROM requests WHERE id = ?').get(claimed.id) as { status: string; version: number; record: string; state: string | null };
      } finally {
        raw.close();
      }
    };
    const inserted = row();
    expect(inserted.state).toBeNull();
    // The outcome drops the run's deadline: a field a transition leaves out must be gone when read back.
    const { runDeadline: _, ...rest } = transition(claimed, 'succeeded', FIXTURE_TIME, { result: { status: 200, body: { ok: true } } });
    const done = rest as typeof claimed;
    await store.mutateRequest(claimed.id, () => ({ result: done, next: done, audit: [auditDraft('request.succeeded', claimed.id)] }), claimed);
    const written = row();
    expect(written).toMatchObject({ status: 'succeeded', version: claimed.version + 1, record: inserted.record });
    expect(JSON.parse(written.state!)).toMatchObject({ status: 'succeeded', result: { status: 200, body: { ok: true } } });
    for (const reader of [store, open()]) {
      const got = await reader.getRequest(claimed.id);
      expect(got).toEqual(done);
      expect(got && 'runDeadline' in got).toBe(false);
      expect((await reader.listRequests({ status: ['succeeded'] }))[0]).toEqual(done);
    }
  });

  it('writes the whole record again when a change reaches past the state (never made by a transition)', async () => {
    const store = open();
    const r = requestRecord();
    await store.insertRequest(r, [auditDraft('request.submitted', r.id)]);
    const approved = transition(r, 'approved', FIXTURE_TIME);
    await store.mutateRequest(r.id, () => ({ result: approved, next: approved, audit: [] }));
    const moved = { ...approved, context: { surface: 'cli' }, version: approved.version + 1 };
    await store.mutateRequest(r.id, () => ({ result: moved, next: moved, audit: [] }), approved);
    expect(await open().getRequest(r.id)).toEqual(moved);
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
