import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createCheckpointSigner } from '../adapters/signer/checkpoint-signer.ts';
import { createSqliteStore } from '../adapters/store/sqlite/store.ts';
import type { Store } from '../core/ports.ts';
import { auditDraft } from '../../test/support/fixtures.ts';
import { signCheckpoint } from './checkpoint.ts';

let dir: string;
let path: string;
const opened: Store[] = [];
const open = (): Store => {
  const store = createSqliteStore({ path });
  opened.push(store);
  return store;
};
const clock = { now: () => new Date('2026-12-05T00:00:00Z') };
const ticks = (n: number) => Array.from({ length: n }, (_, i) => auditDraft('tick', null, { i }));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-checkpoint-'));
  path = join(dir, 'countersign.db');
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

function raw(sql: string, ...params: unknown[]): void {
  const db = new Database(path);
  db.prepare(sql).run(...params);
  db.close();
}

it('refuses, rather than skip in silence, a stored checkpoint that covers more events than the log holds (a forged row would stop all signing)', async () => {
  const signer = createCheckpointSigner(join(dir, 'keys'), 'countersign.test/checkpoint');
  await open().appendAudit(ticks(3));
  expect(await signCheckpoint({ store: open(), signer, clock })).toMatchObject({ size: 3 });
  // Someone with write access to the database alone adds a row far past the log's end.
  raw('INSERT INTO checkpoints (size, root, key_id, note, created_at) VALUES (?, ?, ?, ?, ?)', 1_000_000, 'ab'.repeat(32), 'x', 'forged', clock.now().toISOString());
  const store = open();
  await store.appendAudit(ticks(2));
  await expect(signCheckpoint({ store, signer, clock })).rejects.toMatchObject({ code: 'AUDIT_INTEGRITY_FAILED' });
});

it('refuses a log cut below the checkpoint last signed, even when a row of the cut size says it was signed', async () => {
  const signer = createCheckpointSigner(join(dir, 'keys'), 'countersign.test/checkpoint');
  await open().appendAudit(ticks(6));
  expect(await signCheckpoint({ store: open(), signer, clock })).toMatchObject({ size: 6 });
  raw('DELETE FROM audit_events WHERE seq > 4');
  raw('DELETE FROM checkpoints');
  raw('INSERT INTO checkpoints (size, root, key_id, note, created_at) VALUES (?, ?, ?, ?, ?)', 4, 'ab'.repeat(32), 'x', 'forged', clock.now().toISOString());
  await expect(signCheckpoint({ store: open(), signer, clock })).rejects.toMatchObject({ code: 'AUDIT_INTEGRITY_FAILED' });
});

it('still returns the newest checkpoint when the log has not grown since', async () => {
  const signer = createCheckpointSigner(join(dir, 'keys'), 'countersign.test/checkpoint');
  await open().appendAudit(ticks(2));
  const first = await signCheckpoint({ store: open(), signer, clock });
  expect(await signCheckpoint({ store: open(), signer, clock })).toEqual(first);
});
