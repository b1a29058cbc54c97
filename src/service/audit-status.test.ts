import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createCheckpointSigner } from '../adapters/signer/checkpoint-signer.ts';
import { createSqliteStore } from '../adapters/store/sqlite/store.ts';
import type { Store } from '../core/ports.ts';
import { auditDraft } from '../../test/support/fixtures.ts';
import { auditStatus } from './audit-status.ts';
import { signCheckpoint } from './checkpoint.ts';

let dir: string;
let path: string;
const opened: Store[] = [];
const open = (): Store => {
  const store = createSqliteStore({ path });
  opened.push(store);
  return store;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'countersign-status-'));
  path = join(dir, 'countersign.db');
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

it('reports a signed checkpoint whose events lost one as a root that no longer matches, with the log’s length', async () => {
  const store = open();
  const signer = createCheckpointSigner(join(dir, 'keys'), 'countersign.test/status');
  await store.appendAudit(Array.from({ length: 5 }, (_, i) => auditDraft('tick', null, { i })));
  await signCheckpoint({ store, signer, clock: { now: () => new Date('2026-12-05T00:00:00Z') } });
  expect((await auditStatus({ store: open(), signer }, { verifyChain: false })).checkpoint).toMatchObject({ size: 5, signatureOk: true, rootMatches: true, problem: null });

  const raw = new Database(path);
  raw.prepare('DELETE FROM audit_events WHERE seq = 3').run();
  raw.close();
  // A store with no tree in memory: the root over events 1–5 cannot be rehashed without event 3.
  const status = await auditStatus({ store: open(), signer }, { verifyChain: true });
  expect(status.size).toBe(5);
  expect(status.checkpoint).toMatchObject({ size: 5, signatureOk: true, rootMatches: false, problem: 'the stored log no longer has the signed root at this size' });
  expect(status.chain).toMatchObject({ ok: false });
});
