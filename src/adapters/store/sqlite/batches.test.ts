/**
 * The SQLite store's write batches (group-commit.ts) seen from the store:
 * writes that share a transaction fail alone (the batch rolls back and each
 * runs again on its own), the chain and the tree go on from what was kept,
 * and another
 * process's write lock is waited for without stopping this one.
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChainVerifier } from '../../../core/audit.ts';
import { leafHash, memorySource, rootAt, toHex } from '../../../core/merkle/index.ts';
import type { OutboxRouter } from '../../../core/outbox.ts';
import type { Store } from '../../../core/ports.ts';
import { auditDraft, requestRecord } from '../../../../test/support/fixtures.ts';
import { createSqliteStore } from './store.ts';

describe('sqlite store write batches', () => {
  let dir: string;
  let path: string;
  const opened: Store[] = [];

  function open(): Store {
    const store = createSqliteStore({ path });
    opened.push(store);
    return store;
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

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-store-'));
    path = join(dir, 'countersign.db');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
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
    // Alone in its batch (awaited one at a time): the transaction's rollback takes it back.
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
    // The router fails after the write's events are in the log: the batch rolls back and each write runs again alone,
    // so the writes after it must chain on the event before them, not on the rolled-back ones.
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

  it('keeps the request rows and events of the other writes of a batch, and nothing of one that failed after inserting its row', async () => {
    const store = openRefusingBoom();
    const [a, doomed, b] = [requestRecord(), requestRecord(), requestRecord()];
    const settled = await Promise.allSettled([
      store.insertRequest(a, [auditDraft('request.submitted', a.id)]),
      store.insertRequest(doomed, [auditDraft('request.submitted', doomed.id), auditDraft('boom', doomed.id)]),
      store.insertRequest(b, [auditDraft('request.submitted', b.id)]),
    ]);
    expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.getRequest(doomed.id)).toBeUndefined();
    expect((await store.getRequest(a.id))?.id).toBe(a.id);
    expect((await store.getRequest(b.id))?.id).toBe(b.id);
    const events = await open().readAudit(1, 100);
    expect(events.map((e) => [e.seq, e.requestId])).toEqual([
      [1, a.id],
      [2, b.id],
    ]);
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
});
