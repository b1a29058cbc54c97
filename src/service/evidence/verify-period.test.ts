/**
 * The evidence report of a period reads more than the period: a request
 * carried over from before it is described by its earlier request.submitted
 * event. That event must be the one the log's key signed, as the period's own
 * events must: one edited in the database (its requester, its reason) is
 * refused, not reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createCheckpointSigner } from '../../adapters/signer/checkpoint-signer.ts';
import { createSqliteStore } from '../../adapters/store/sqlite/index.ts';
import type { AuditDraft } from '../../core/audit.ts';
import { sha256Hex } from '../../core/digest.ts';
import { isCountersignError } from '../../core/errors.ts';
import type { CheckpointSigner, Store } from '../../core/ports.ts';
import { manualClock } from '../../../test/support/clock.ts';
import { at, FIXTURE_CONNECTION } from '../../../test/support/fixtures.ts';
import { signCheckpoint } from '../checkpoint.ts';
import { evidenceOfPeriod } from './of-period.ts';

let dir: string;
let store: Store;
let signer: CheckpointSigner;
const clock = manualClock(Date.parse(at(7200)));
const period = { from: new Date(at(0)), to: new Date(at(3600)), framework: 'soc2' as const };
const draft = (type: string, seconds: number, data: Record<string, unknown> = {}, actor: string | null = null): AuditDraft => ({ type, time: at(seconds), requestId: 'req_carried', actor, data });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-evidence-verify-'));
  store = createSqliteStore({ path: join(dir, 'store.db') });
  signer = createCheckpointSigner(join(dir, 'keys'), 'countersign.test/evidence');
  const principal = { id: 'deploy-bot', kind: 'agent', actsFor: 'alice', groups: [] };
  await store.appendAudit([
    draft('request.submitted', -600, {
      principal,
      connection: FIXTURE_CONNECTION,
      operation: 'sql.query',
      input: { sql: 'UPDATE orders SET status = 1' },
      reason: 'close the ticket',
      facts: { kind: 'postgres', writes: true },
      digest: 'd',
      decision: { effect: 'approve', rules: ['rule-approve'], message: null, policyHash: `sha256:${'1'.repeat(64)}`, approvers: [{ rule: 'rule-approve', groups: [], principals: [], count: 1 }] },
    }, 'deploy-bot'),
    draft('request.held', -600, { expiresAt: at(3000) }),
    // The period: [at(0), at(3600)).
    draft('review.recorded', 60, { reviewer: { id: 'carol', kind: 'human', groups: ['sre'] }, verdict: 'approve', comment: '', digest: 'd' }, 'carol'),
    draft('request.approved', 60, { approvers: ['carol'] }),
  ]);
  await signCheckpoint({ store, signer, clock });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('reports a carried-over request from its signed submission', async () => {
  const r = await evidenceOfPeriod({ store, signer, clock }, period);
  expect(r.coverage.firstSeq).toBe(3);
  expect(r.actions.map((a) => [a.id, a.requester, a.reason])).toEqual([['req_carried', 'deploy-bot', 'close the ticket']]);
});

it('refuses (AUDIT_INTEGRITY_FAILED) a submission from before the period edited in the database', async () => {
  const db = new Database(join(dir, 'store.db'));
  const body = (db.prepare('SELECT body FROM audit_events WHERE seq = 1').pluck().get() as string).replace('close the ticket', 'routine cleanup');
  db.prepare('UPDATE audit_events SET body = ?, hash = ? WHERE seq = 1').run(body, sha256Hex(body));
  db.close();
  const refused = await evidenceOfPeriod({ store, signer, clock }, period).then(
    () => null,
    (e: unknown) => e,
  );
  expect(isCountersignError(refused, 'AUDIT_INTEGRITY_FAILED')).toBe(true);
  expect((refused as Error).message).toContain('event 1, from before the period and read by the report, is not the one checkpoint 4 signed');
});
