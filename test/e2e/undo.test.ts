/**
 * Undo end to end: a real gateway on a real PostgreSQL database. An approved
 * UPDATE or DELETE keeps its rows' before-image; a reviewer asks for a revert,
 * which is a new request held for review like any other, and once approved
 * restores the table exactly. The requesting side can neither read the rows
 * nor ask for the revert; the audit log has the table, keys and count only.
 * A revert can itself be reverted; a rule may say `undo: false`, judged by the
 * policy in force when the write runs (the last test restarts the gateway on
 * the same store under a policy without it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/surfaces/sdk/client.ts';
import { getPage, postForm, signIn } from '../support/console.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { storedAudit } from '../support/store-view.ts';
import { releaseTestStore } from '../support/test-store.ts';

const db = await createTestDatabase();
const dir = mkdtempSync(join(tmpdir(), 'cs-undo-'));

/** The gateway's config; `noUndo` is the bulk rule's `undo: false` (a reload takes it away). */
const config = (noUndo: boolean) => `connections:
  - name: ledger
    kind: postgres
    url: "${db?.url}"
    preview: false
    undo: { maxRows: 5 }
policy:
  rules:
    - { id: writes, when: 'facts.writes && !("bulk" in facts.sql.tables)', effect: approve, approvers: [{ groups: [sre] }] }
    - { id: bulk-no-undo, when: 'facts.writes && "bulk" in facts.sql.tables', effect: approve, approvers: [{ groups: [sre], count: 2 }]${noUndo ? ', undo: false' : ''} }
    - { id: bulk-audited, when: '"bulk" in facts.sql.tables && action.reason.contains("keep undo")', effect: approve, approvers: [{ groups: [sre] }] }
`;

describe.skipIf(!db)('undo of an approved SQL write', () => {
  let gw: TestGateway;
  const admin = new pg.Client({ connectionString: db?.url });
  const table = async (): Promise<string> => JSON.stringify((await admin.query('SELECT * FROM accounts ORDER BY id')).rows);

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL, note text);
      INSERT INTO accounts SELECT g, g * 10, 'private-note-' || g FROM generate_series(1, 10) g;
      CREATE TABLE bulk (id int PRIMARY KEY, n int NOT NULL);
      INSERT INTO bulk SELECT g, 0 FROM generate_series(1, 5000) g`);
    gw = await startTestGateway(config(true), { dir });
  });

  afterAll(async () => {
    await gw?.stop();
    await releaseTestStore(join(dir, 'countersign.db'));
    rmSync(dir, { recursive: true, force: true });
    await admin.end();
    await db?.drop();
  });

  /** Submits as `who`, approves as `reviewer`, and returns the request once it ran. */
  async function approved(who: string, sql: string, reviewer = 'alice'): Promise<Record<string, any>> {
    const res = await gw.as(who, '/v1/actions', { body: { connection: 'ledger', input: { sql }, reason: 'tidy up' } });
    expect(res.status).toBe(202);
    return run(res.body.id as string, reviewer);
  }
  async function run(id: string, ...reviewers: string[]): Promise<Record<string, any>> {
    for (const reviewer of reviewers) expect((await gw.as(reviewer, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    return eventually(async () => {
      const r = (await gw.as(reviewers[0]!, `/v1/requests/${id}`)).body;
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    }, 30_000);
  }
  const bulkSum = async (): Promise<number> => (await admin.query('SELECT sum(n)::int AS s FROM bulk')).rows[0].s as number;

  it('reverts an approved UPDATE through review, restoring the table exactly', async () => {
    const before = await table();
    const done = await approved('deploy-bot', "UPDATE accounts SET balance = 0, note = 'wiped' WHERE id <= 3");
    expect(done.status).toBe('succeeded');
    expect(await table()).not.toBe(before);

    // The requesting agent and the human it acts for see that an undo exists, never its rows, and cannot ask for the revert.
    for (const who of ['deploy-bot', 'carol']) {
      const view = await gw.as(who, `/v1/requests/${done.id}`);
      expect(view.body.undo).toEqual({ available: true, command: 'UPDATE', table: '"accounts"', rows: 3 });
      expect(JSON.stringify(view.body)).not.toContain('private-note');
      const refused = await gw.as(who, `/v1/requests/${done.id}/revert`, { body: {} });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('ROLE_REQUIRED');
    }
    expect(await table()).not.toBe(before);

    // The reviewer asks; the revert is hers, held like any write, and references the original.
    const asked = await gw.as('alice', `/v1/requests/${done.id}/revert`, { body: { reason: 'wrong rows' } });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ status: 'pending', principal: { id: 'alice' }, action: { connection: 'ledger', reason: `revert of request ${done.id}: wrong rows` } });
    expect(asked.body.action.input.sql).toContain('private-note-1');
    const self = await gw.as('alice', `/v1/requests/${asked.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(self.status).toBe(403);
    const reverted = await run(asked.body.id as string, 'bob');
    expect(reverted.status).toBe('succeeded');
    expect(await table()).toBe(before);

    // The audit log: the capture's table, key columns and count; no value of any row.
    const events = await storedAudit(gw.deps.store, done.id as string);
    const capture = events.filter((e) => e.type === 'request.undo-captured');
    expect(capture.map((e) => e.data)).toEqual([{ status: 'captured', command: 'UPDATE', table: '"accounts"', keyColumns: ['id'], rows: 3 }]);
    expect(JSON.stringify(events)).not.toContain('private-note');
  });

  it('reverts an approved DELETE', async () => {
    const before = await table();
    const done = await approved('deploy-bot', 'DELETE FROM accounts WHERE id IN (9, 10)');
    expect(done.status).toBe('succeeded');
    expect((await admin.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n).toBe(8);
    // The typed client (which `countersign requests revert` uses) asks for it.
    const asked = await createClient({ url: gw.url, key: gw.keys['alice']! }).revert(done.id as string, 'restore');
    expect(asked).toMatchObject({ status: 'pending', action: { reason: `revert of request ${done.id}: restore` } });
    expect((await run(asked.id, 'bob')).status).toBe('succeeded');
    expect(await table()).toBe(before);
  });

  it('refuses a revert whose rows changed since, naming their keys, and changes nothing', async () => {
    const done = await approved('deploy-bot', 'UPDATE accounts SET balance = balance + 1 WHERE id IN (4, 5)');
    await admin.query("UPDATE accounts SET note = 'edited by hand' WHERE id = 5");
    const changed = await table();
    // In the console: the requesting side sees the count and no button; the reviewer asks with the button.
    const carol = await signIn(gw.url, gw.keys['carol']!);
    const carolPage = await (await getPage(gw.url, carol, `/requests/${done.id}`)).text();
    expect(carolPage).toContain('Can be reverted: 2 rows of &quot;accounts&quot; (UPDATE)');
    expect(carolPage).not.toContain('Ask to revert');
    expect((await postForm(gw.url, carol, `/requests/${done.id}/revert`, { _csrf: carol.csrf })).status).toBe(403);
    const alice = await signIn(gw.url, gw.keys['alice']!);
    expect(await (await getPage(gw.url, alice, `/requests/${done.id}`)).text()).toContain('Ask to revert');
    const posted = await postForm(gw.url, alice, `/requests/${done.id}/revert`, { _csrf: alice.csrf, reason: 'put back' });
    expect(posted.status).toBe(303);
    const revertId = decodeURIComponent(/\/requests\/([^/?]+)$/.exec(posted.headers.get('location') ?? '')?.[1] ?? '');
    expect((await gw.as('alice', `/v1/requests/${revertId}`)).body).toMatchObject({ status: 'pending', action: { reason: `revert of request ${done.id}: put back` } });
    const failed = await run(revertId, 'bob');
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('UNDO_CONFLICT');
    expect(failed.error.message).toContain('{"id": 5}');
    expect(failed.error.message).not.toContain('{"id": 4}');
    expect(await table()).toBe(changed);
  });

  it('refuses to run a write past maxUndoRows, changing nothing', async () => {
    const before = await table();
    const done = await approved('deploy-bot', 'UPDATE accounts SET balance = -1');
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe('UNDO_TOO_MANY_ROWS');
    expect(await table()).toBe(before);
    const asked = await gw.as('alice', `/v1/requests/${done.id}/revert`, { body: {} });
    expect(asked.status).toBe(409);
    expect(asked.body.error.code).toBe('UNDO_UNAVAILABLE');
  });

  it('runs what it cannot undo as before, and says why on the request', async () => {
    const done = await approved('deploy-bot', 'UPDATE accounts SET note = note WHERE id = 1; UPDATE accounts SET note = note WHERE id = 2');
    expect(done.status).toBe('succeeded');
    expect(done.undo).toEqual({ available: false, reason: 'it holds several statements' });
    const alice = await signIn(gw.url, gw.keys['alice']!);
    expect(await (await getPage(gw.url, alice, `/requests/${done.id}`)).text()).toContain('no undo: it holds several statements');
    const asked = await gw.as('alice', `/v1/requests/${done.id}/revert`, { body: {} });
    expect(asked.body.error).toMatchObject({ code: 'UNDO_UNAVAILABLE', message: `request ${done.id} cannot be reverted: no undo: it holds several statements` });
  });

  it('reverts a revert: the rows go back to the changed state, and the chain goes on', async () => {
    const before = await table();
    const done = await approved('deploy-bot', "UPDATE accounts SET note = 'chain' WHERE id IN (6, 7)");
    expect(done.status).toBe('succeeded');
    const changed = await table();
    const asked = await gw.as('alice', `/v1/requests/${done.id}/revert`, { body: { reason: 'oops' } });
    const reverted = await run(asked.body.id as string, 'bob');
    expect(reverted.status).toBe('succeeded');
    expect(await table()).toBe(before);
    // The revert kept an undo of what it wrote: a count, no row, like any other.
    expect(reverted.undo).toEqual({ available: true, command: 'UPDATE', table: '"accounts"', rows: 2 });
    expect(JSON.stringify((await gw.as('bob', `/v1/requests/${reverted.id}`)).body.undo)).not.toContain('private-note');
    // Who may ask is as for any request: not its requester (alice asked for the revert), but its reviewer may.
    expect((await gw.as('alice', `/v1/requests/${reverted.id}/revert`, { body: {} })).body.error.code).toBe('ROLE_REQUIRED');
    const again = await gw.as('bob', `/v1/requests/${reverted.id}/revert`, { body: { reason: 'it was right after all' } });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ status: 'pending', principal: { id: 'bob' }, action: { reason: `revert of request ${reverted.id}: it was right after all` } });
    const reapplied = await run(again.body.id as string, 'alice');
    expect(reapplied.status).toBe('succeeded');
    expect(await table()).toBe(changed);
    // And once more: a revert of the revert of the revert puts the rows back as they were first.
    const third = await gw.as('alice', `/v1/requests/${reapplied.id}/revert`, { body: {} });
    expect((await run(third.body.id as string, 'bob')).status).toBe('succeeded');
    expect(await table()).toBe(before);
  });

  it('refuses a revert of a revert whose rows changed since, naming their keys, and changes nothing', async () => {
    const done = await approved('deploy-bot', 'DELETE FROM accounts WHERE id IN (8, 9)');
    const asked = await gw.as('alice', `/v1/requests/${done.id}/revert`, { body: {} });
    const reverted = await run(asked.body.id as string, 'bob');
    expect(reverted.undo).toEqual({ available: true, command: 'INSERT', table: '"accounts"', rows: 2 });
    // Its reviewer sees the console's button on the revert itself.
    const bob = await signIn(gw.url, gw.keys['bob']!);
    const page = await (await getPage(gw.url, bob, `/requests/${reverted.id}`)).text();
    expect(page).toContain('Can be reverted: 2 rows of &quot;accounts&quot; (INSERT), by deleting the rows it inserted.');
    expect(page).toContain('Ask to revert');
    await admin.query("UPDATE accounts SET note = 'edited after the revert' WHERE id = 9");
    const now = await table();
    const again = await gw.as('bob', `/v1/requests/${reverted.id}/revert`, { body: {} });
    const failed = await run(again.body.id as string, 'alice');
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('UNDO_CONFLICT');
    expect(failed.error.message).toContain('{"id": 9}');
    expect(failed.error.message).not.toContain('{"id": 8}');
    expect(await table()).toBe(now);
  });

  it('runs a large write the rule says undo: false for, past maxUndoRows, keeping no undo; reviewers are told before approving', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ledger', input: { sql: 'UPDATE bulk SET n = n + 1' }, reason: 'nightly' } });
    expect(res.status).toBe(202);
    expect(res.body.decision.noUndo).toEqual(['bulk-no-undo']);
    const alice = await signIn(gw.url, gw.keys['alice']!);
    const card = (await (await getPage(gw.url, alice, `/requests/${res.body.id}`)).text()).replace(/<[^>]*>/g, '');
    expect(card).toContain('Runs without undo: the policy says undo: false (rule bulk-no-undo)');
    const done = await run(res.body.id as string, 'alice', 'bob');
    expect(done.status).toBe('succeeded');
    expect(done.result.results[0].rowCount).toBe(5000);
    expect(await bulkSum()).toBe(5000);
    expect(done.undo).toEqual({ available: false, reason: 'the policy lets it run without an undo (rule bulk-no-undo)' });
    const events = await storedAudit(gw.deps.store, done.id as string);
    expect(events.filter((e) => e.type === 'request.undo-captured').map((e) => e.data)).toEqual([{ status: 'none', reason: 'the policy lets it run without an undo (rule bulk-no-undo)' }]);
    expect(events.find((e) => e.type === 'request.executing')?.data).toMatchObject({ noUndo: ['bulk-no-undo'] });
    expect((await gw.as('alice', `/v1/requests/${done.id}/revert`, { body: {} })).body.error.code).toBe('UNDO_UNAVAILABLE');
  });

  it('keeps the undo, and its limit, when one matching rule does not say undo: false', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ledger', input: { sql: 'UPDATE bulk SET n = n + 1' }, reason: 'keep undo please' } });
    expect(res.body.decision).toMatchObject({ rules: ['bulk-no-undo', 'bulk-audited'], noUndo: [] });
    const done = await run(res.body.id as string, 'alice', 'bob');
    expect([done.status, done.error?.code]).toEqual(['failed', 'UNDO_TOO_MANY_ROWS']);
    expect(await bulkSum()).toBe(5000);
  });

  it('judges undo: false by the policy in force when the write runs: a reload that took it away brings the capture and its limit back', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ledger', input: { sql: 'UPDATE bulk SET n = n + 1' }, reason: 'nightly' } });
    expect(res.body.decision.noUndo).toEqual(['bulk-no-undo']);
    const id = res.body.id as string;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await gw.stop();
    gw = await startTestGateway(config(false), { dir, priorKeys: gw.keys });
    const done = await run(id, 'bob');
    expect([done.status, done.error?.code]).toEqual(['failed', 'UNDO_TOO_MANY_ROWS']);
    expect(await bulkSum()).toBe(5000);
    const events = await storedAudit(gw.deps.store, id);
    expect(events.find((e) => e.type === 'request.executing')?.data['noUndo']).toBeUndefined();
  });
});
