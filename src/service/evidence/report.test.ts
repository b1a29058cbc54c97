/**
 * buildEvidence over a real SQLite store holding a hand-written log: a period
 * with a request carried over from before it, one after it, a self-approval
 * the log records (the gateway would refuse one; the report must still count
 * it from the events, not assume it away), and checkpoints either side.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../adapters/store/sqlite/index.ts';
import type { AuditDraft } from '../../core/audit.ts';
import type { ConnectionInfo } from '../../core/connection.ts';
import { isCountersignError } from '../../core/errors.ts';
import type { Store } from '../../core/ports.ts';
import { agent, approveDecision, at, FIXTURE_CONNECTION, requestRecord } from '../../../test/support/fixtures.ts';
import { buildEvidence } from './report.ts';

const CRM: ConnectionInfo = { name: 'crm-api', kind: 'http', tags: { env: 'prod', data: 'pii' } };
const H1 = `sha256:${'1'.repeat(64)}`;
const H2 = `sha256:${'2'.repeat(64)}`;

let store: Store;

function draft(type: string, requestId: string | null, seconds: number, data: Record<string, unknown> = {}, actor: string | null = null): AuditDraft {
  return { type, time: at(seconds), requestId, actor, data };
}

interface Sub {
  id: string;
  seconds: number;
  effect?: 'allow' | 'deny' | 'approve';
  writes?: boolean;
  connection?: ConnectionInfo;
  input?: Record<string, unknown>;
  reason?: string;
  /** The requester as request.submitted names it (default: deploy-bot acting for alice). */
  principal?: Record<string, unknown>;
}

/** A request row and its request.submitted event, shaped as the submit use case writes it. */
async function submit(s: Sub, ...after: AuditDraft[]): Promise<void> {
  const conn = s.connection ?? FIXTURE_CONNECTION;
  const p = agent('deploy-bot', 'alice');
  const effect = s.effect ?? 'approve';
  const rec = requestRecord({ id: s.id, createdAt: at(s.seconds), updatedAt: at(s.seconds), connection: conn });
  const data = {
    principal: s.principal ?? { id: p.id, kind: p.kind, actsFor: p.actsFor, groups: [] },
    connection: conn,
    operation: conn.kind === 'http' ? 'http.request' : 'sql.query',
    input: s.input ?? { sql: 'UPDATE orders SET status = $1\nWHERE id = $2' },
    reason: s.reason ?? `reason of ${s.id}`,
    facts: { kind: conn.kind, writes: s.writes ?? true },
    digest: rec.digest,
    decision: { effect, rules: [`rule-${effect}`], message: null, policyHash: H1, approvers: effect === 'approve' ? approveDecision().approvers : [] },
  };
  const follow = effect === 'approve' ? draft('request.held', s.id, s.seconds, { expiresAt: at(s.seconds + 3600) }) : null;
  await store.insertRequest(rec, [draft('request.submitted', s.id, s.seconds, data, String(data.principal['id'])), ...(follow ? [follow] : []), ...after]);
}

const review = (id: string, seconds: number, reviewer: string, verdict: 'approve' | 'deny', comment = '') =>
  draft('review.recorded', id, seconds, { reviewer: { id: reviewer, kind: 'human', groups: ['sre'] }, verdict, comment, digest: 'd' }, reviewer);
const approved = (id: string, seconds: number, approvers: string[]) => draft('request.approved', id, seconds, { approvers });
const ran = (id: string, seconds: number) => [draft('request.executing', id, seconds, { by: 'approval', policyHash: H1, rules: ['rule-approve'] }), draft('request.succeeded', id, seconds, { summary: {} })];

let seqOf: (type: string, id: string | null) => number;

beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:' });
  await store.appendAudit([draft('policy.loaded', null, -700, { old: null, new: H1, default: 'deny', rules: [{ id: 'rule-approve', effect: 'approve' }], file: 'a.yaml' }, 'ops@host')]);
  await submit({ id: 'req_carried', seconds: -600 });
  await store.insertCheckpoint({ size: 3, root: 'aa', keyId: '00000001', note: 'cp3', createdAt: at(-590) });
  // The period: [at(0), at(3600)).
  await store.appendAudit([review('req_carried', 60, 'bob', 'approve'), approved('req_carried', 60, ['bob']), ...ran('req_carried', 61)]);
  await submit({ id: 'req_two', seconds: 100 });
  await store.appendAudit([review('req_two', 160, 'carol', 'approve'), review('req_two', 220, 'dave', 'approve'), approved('req_two', 220, ['carol', 'dave']), ...ran('req_two', 221)]);
  await submit({ id: 'req_self', seconds: 300 });
  await store.appendAudit([review('req_self', 400, 'alice', 'approve'), approved('req_self', 400, ['alice']), ...ran('req_self', 401)]);
  await submit({ id: 'req_policy', seconds: 500, effect: 'deny' }, draft('request.denied', 'req_policy', 500, { by: 'policy', code: 'POLICY_DENIED', rules: ['rule-deny'], message: 'never' }));
  await submit({ id: 'req_denied', seconds: 600 });
  await store.appendAudit([review('req_denied', 900, 'bob', 'deny', 'not today'), draft('request.denied', 'req_denied', 900, { by: 'review' }, 'bob')]);
  await submit({ id: 'req_expired', seconds: 1000 });
  await store.insertCheckpoint({ size: 20, root: 'bb', keyId: '00000001', note: 'cp20', createdAt: at(1001) });
  await submit({ id: 'req_cancel', seconds: 1100 }, draft('request.cancelled', 'req_cancel', 1200, { reason: 'not needed' }, 'deploy-bot'));
  await submit({ id: 'req_pii', seconds: 1300, effect: 'allow', connection: CRM, input: { method: 'POST', path: '/customers/7/erase' } }, ...ran('req_pii', 1301));
  await submit({ id: 'req_read', seconds: 1400, effect: 'allow', writes: false, input: { sql: 'select 1' } }, ...ran('req_read', 1401));
  await store.appendAudit([draft('policy.loaded', null, 1500, { old: H1, new: H2, default: 'deny', rules: [], file: 'b.yaml' }, 'ops@host')]);
  await store.appendAudit([draft('request.expired', 'req_expired', 2000, { expiresAt: at(2000) })]);
  // After the period.
  await submit({ id: 'req_after', seconds: 4000 });
  const events = await store.readAudit(1, 1000);
  seqOf = (type, id) => events.find((e) => e.type === type && e.requestId === id)!.seq;
  const last = seqOf('request.expired', 'req_expired');
  await store.insertCheckpoint({ size: last + 1, root: 'cc', keyId: '00000001', note: 'cover', createdAt: at(4001) });
  await store.insertCheckpoint({ size: last + 2, root: 'dd', keyId: '00000001', note: 'later', createdAt: at(4002) });
});

afterEach(async () => {
  await store.close();
});

const period = { from: new Date(at(0)), to: new Date(at(3600)) };

/** A period that also takes requests appended by one test (the log's times never step back, so theirs are after req_after's). */
const wholeLog = { from: new Date(at(0)), to: new Date(at(100_000)) };

describe('buildEvidence', () => {
  it('lists privileged actions: held or writing requests, not policy refusals nor routine reads', async () => {
    const r = await buildEvidence(store, { ...period, framework: 'soc2' });
    expect(r.actions.map((a) => a.id)).toEqual(['req_carried', 'req_two', 'req_self', 'req_denied', 'req_expired', 'req_cancel', 'req_pii']);
    expect(r.summary).toMatchObject({ requests: 9, privilegedActions: 7, routineReads: 1, succeeded: 4, deniedByPolicy: 1, deniedByReview: 1, expired: 1, cancelled: 1, policyChanges: 1 });
    const two = r.actions.find((a) => a.id === 'req_two')!;
    expect(two).toMatchObject({
      requester: 'deploy-bot',
      requesterKind: 'agent',
      actsFor: 'alice',
      connection: 'orders-db',
      summary: 'UPDATE orders SET status = $1 …',
      rules: ['rule-approve'],
      policyHash: H1,
      approvers: ['carol', 'dave'],
      outcome: 'succeeded',
      submittedAt: at(100),
      decidedAt: at(220),
      timeToDecisionMs: 120_000,
    });
    expect(r.actions.find((a) => a.id === 'req_pii')).toMatchObject({ summary: 'POST /customers/7/erase', personalData: true, effect: 'allow', approvers: [] });
  });

  it('takes the run of an action allowed outright from its submission: no request.executing follows it', async () => {
    await submit({ id: 'req_auto', seconds: 3000, effect: 'allow', input: { sql: 'DELETE FROM carts' } }, draft('request.succeeded', 'req_auto', 3000, { summary: {} }));
    const r = await buildEvidence(store, { ...wholeLog, framework: 'soc2' });
    expect(r.actions.find((a) => a.id === 'req_auto')).toMatchObject({
      effect: 'allow',
      outcome: 'succeeded',
      rules: ['rule-allow'],
      executedUnder: { policyHash: H1, rules: ['rule-allow'] },
    });
  });

  it('lists a break-glass the check before running refused apart from the runs, not as one awaiting review', async () => {
    const broke = (id: string, seconds: number) => draft('request.break_glass', id, seconds, { by: 'erin', justification: `INC for ${id}`, digest: 'd', groups: ['oncall'] }, 'erin');
    await submit({ id: 'req_bg_ran', seconds: 3000 }, broke('req_bg_ran', 3001), ...ran('req_bg_ran', 3001));
    await submit(
      { id: 'req_bg_refused', seconds: 3010 },
      broke('req_bg_refused', 3011),
      draft('request.denied', 'req_bg_refused', 3011, { by: 'execute-check', code: 'BREAK_GLASS_NOT_ALLOWED', message: 'the policy in force now does not let this human break the glass on this request' }),
    );
    const r = await buildEvidence(store, { ...wholeLog, framework: 'soc2' });
    expect(r.breakGlass.map((b) => [b.id, b.review])).toEqual([['req_bg_ran', null]]);
    expect(r.breakGlassRefusedAtRun).toEqual([
      {
        id: 'req_bg_refused',
        by: 'erin',
        justification: 'INC for req_bg_refused',
        at: expect.any(String),
        outcome: 'denied',
        code: 'BREAK_GLASS_NOT_ALLOWED',
        message: 'the policy in force now does not let this human break the glass on this request',
        refusedAt: expect.any(String),
      },
    ]);
    expect(r.summary).toMatchObject({ breakGlass: 1, breakGlassUnreviewed: 1, breakGlassRefusedAtRun: 1 });
  });

  it('reports an action allowed outright whose run never ended as executing', async () => {
    await submit({ id: 'req_running', seconds: 3000, effect: 'allow', input: { sql: 'DELETE FROM carts' } });
    const r = await buildEvidence(store, { ...wholeLog, framework: 'soc2' });
    expect(r.actions.find((a) => a.id === 'req_running')).toMatchObject({ outcome: 'executing', executedUnder: { policyHash: H1, rules: ['rule-allow'] } });
  });

  it('takes a request begun before the period from its earlier submission event', async () => {
    const r = await buildEvidence(store, { ...period, framework: 'soc2' });
    const carried = r.actions.find((a) => a.id === 'req_carried')!;
    expect(carried).toMatchObject({ submittedInPeriod: false, requester: 'deploy-bot', actsFor: 'alice', submittedAt: at(-600), timeToDecisionMs: 660_000, approvers: ['bob'] });
  });

  it('counts separation of duties from the review events, self-approvals included', async () => {
    const { sod } = await buildEvidence(store, { ...period, framework: 'soc2' });
    expect(sod).toMatchObject({
      heldRequests: 6,
      approvedRequests: 3,
      approvalReviews: 4,
      denialReviews: 1,
      selfApprovals: 1,
      selfApprovalRequests: ['req_self'],
      nonHumanApprovals: 0,
      uncheckedReviews: 0,
      multiApproverRequests: 1,
    });
    expect(sod.approvers).toEqual([
      { id: 'alice', approvals: 1 },
      { id: 'bob', approvals: 1 },
      { id: 'carol', approvals: 1 },
      { id: 'dave', approvals: 1 },
    ]);
    expect(sod.timeToDecision).toEqual({ count: 4, medianMs: 210_000, p90Ms: 660_000, maxMs: 660_000 });
  });

  it('counts self-approvals by canonical identity: an email in another case, or the requester’s own token under another id', async () => {
    const idp = { issuer: 'https://idp.example.com', subject: '00u-dana' };
    await submit({ id: 'req_case', seconds: 5100, principal: { id: 'deploy-bot', kind: 'agent', actsFor: 'carol@example.com', groups: [] } });
    await submit({ id: 'req_token', seconds: 5200, principal: { id: 'dana', kind: 'human', actsFor: null, groups: [], identity: idp } });
    await store.appendAudit([
      review('req_case', 5150, 'Carol@Example.COM', 'approve'),
      approved('req_case', 5150, ['Carol@Example.COM']),
      { ...review('req_token', 5250, 'dana@example.com', 'approve'), data: { ...review('req_token', 5250, 'dana@example.com', 'approve').data, identity: idp } },
      approved('req_token', 5250, ['dana@example.com']),
    ]);
    const { sod } = await buildEvidence(store, { from: new Date(at(5000)), to: new Date(at(9000)), framework: 'soc2' });
    expect(sod.selfApprovals).toBe(2);
    expect(sod.selfApprovalRequests).toEqual(['req_case', 'req_token']);
  });

  it('lists refusals, expiries, withdrawals and policy changes of the period only', async () => {
    const r = await buildEvidence(store, { ...period, framework: 'soc2' });
    expect(r.denied.byPolicy.map((e) => [e.id, e.code, e.message])).toEqual([['req_policy', 'POLICY_DENIED', 'never']]);
    expect(r.denied.byReview.map((e) => [e.id, e.deniers, e.message])).toEqual([['req_denied', ['bob'], 'denied by bob: not today']]);
    expect(r.expired.map((e) => [e.id, e.outcomeAt])).toEqual([['req_expired', at(2000)]]);
    expect(r.cancelled.map((e) => [e.id, e.message])).toEqual([['req_cancel', 'cancelled by deploy-bot: not needed']]);
    expect(r.policyChanges).toMatchObject([{ old: H1, new: H2, file: 'b.yaml', actor: 'ops@host' }]);
    expect(JSON.stringify(r)).not.toContain('req_after');
  });

  it('gives the period’s seq range and the checkpoints from the first inside it to the first that covers it', async () => {
    const r = await buildEvidence(store, { ...period, framework: 'soc2' });
    const c = r.coverage;
    expect(c.firstSeq).toBe(seqOf('review.recorded', 'req_carried'));
    expect(c.lastSeq).toBe(seqOf('request.expired', 'req_expired'));
    expect(c.events).toBe(c.lastSeq! - c.firstSeq! + 1);
    expect(c.covered).toBe(true);
    expect(c.checkpoints.map((x) => x.note)).toEqual(['cp20', 'cover']);
    expect(c.checkpoints.at(-1)!.size).toBe(c.lastSeq! + 1);
    const [before] = await store.readAudit(c.firstSeq! - 1, 1);
    expect(c.prevHash).toBe(before!.hash);
  });

  it('says so when no checkpoint covers the period yet', async () => {
    await submit({ id: 'req_late', seconds: 5000 });
    const r = await buildEvidence(store, { from: new Date(at(4500)), to: new Date(at(9000)), framework: 'soc2' });
    expect(r.coverage.firstSeq).toBe(seqOf('request.held', 'req_after') + 1);
    expect(r.coverage.covered).toBe(false);
    expect(r.coverage.checkpoints).toEqual([]);
  });

  it('for GDPR, limits the privileged actions to personal-data connections and maps Art. 30 and 32', async () => {
    const r = await buildEvidence(store, { ...period, framework: 'gdpr' });
    expect(r.actions.map((a) => a.id)).toEqual(['req_pii']);
    expect(r.controls.map((c) => c.control)).toEqual(['Art. 30', 'Art. 32']);
    expect(r.sod.selfApprovals).toBe(1);
  });

  it('is empty, not an error, for a period without events', async () => {
    const r = await buildEvidence(store, { from: new Date('2020-01-01T00:00:00Z'), to: new Date('2020-02-01T00:00:00Z'), framework: 'iso27001' });
    expect(r.coverage).toMatchObject({ firstSeq: null, lastSeq: null, events: 0, covered: false });
    expect(r.actions).toEqual([]);
  });

  it('refuses an invalid or inverted period with INVALID_REQUEST', async () => {
    const refuse = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (isCountersignError(e, 'INVALID_REQUEST') ? 'INVALID_REQUEST' : String(e)));
    expect(await refuse(buildEvidence(store, { from: new Date('nope'), to: new Date(), framework: 'soc2' }))).toBe('INVALID_REQUEST');
    expect(await refuse(buildEvidence(store, { from: period.to, to: period.from, framework: 'soc2' }))).toBe('INVALID_REQUEST');
  });
});
