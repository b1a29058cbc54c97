/**
 * The evidence report for one period, computed from the audit events of that
 * period — not from the requests table, which can be changed without trace.
 * The checkpoints it lists sign those same events, so every row can be proven
 * against an audit bundle exported for the period.
 *
 * A privileged action here is a request that was held for human approval, or
 * one whose parsed facts say it writes, unless the policy refused it at
 * submission (those are listed as denied by policy). Reads the policy let
 * through are counted but not listed.
 */
import { CountersignError } from '../../core/errors.ts';
import type { Clock, Store } from '../../core/ports.ts';
import { controlsFor, FRAMEWORK_TITLES } from './controls.ts';
import { humanKey } from '../../core/human-identity.ts';
import { applySubmitted, approversOf, foldEvents, identityOf, toEntry, type Folded, type Trail } from './fold.ts';
import { obj, strList } from './summary.ts';
import { coveringCheckpoints, findGrantCreated, findSubmitted, readPeriod } from './period.ts';
import { decisionTimes } from './summary.ts';
import { FRAMEWORKS, type EvidenceReport, type Framework, type RequestEntry, type SodStats } from './types.ts';

export interface EvidenceOptions {
  /** Inclusive. */
  readonly from: Date;
  /** Exclusive. */
  readonly to: Date;
  readonly framework: Framework;
  /** For the generation time. */
  readonly clock?: Clock;
  /** Told of each event from before the period the report reads (a carried-over request's submission), to verify it. */
  readonly onEarlier?: (e: { seq: number; body: string }) => void;
}

function isPrivileged(t: Trail, e: RequestEntry): boolean {
  if (e.deniedBy === 'policy' || e.effect === 'deny') return false;
  return t.held || e.writes === true;
}

/** The requester and the human it acts for, as comparable keys: canonical ids and the requester's token identity. */
function requesterSide(t: Trail, e: RequestEntry): Set<string> {
  const side = new Set<string>();
  for (const id of [e.requester, e.actsFor]) if (id !== null) side.add(`id ${humanKey(id)}`);
  const identity = identityOf(obj(obj(t.submitted)['principal'])['identity']);
  if (identity !== null) side.add(`identity ${identity}`);
  return side;
}

/** Separation of duties from the review events: nothing here is assumed from what the gateway enforces. */
function sodStats(pairs: readonly { t: Trail; e: RequestEntry }[]): SodStats {
  let approvalReviews = 0;
  let denialReviews = 0;
  let nonHumanApprovals = 0;
  let uncheckedReviews = 0;
  let selfApprovals = 0;
  let refusedSelfApprovals = 0;
  const selfApprovalRequests = new Set<string>();
  const perApprover = new Map<string, number>();
  const times: number[] = [];
  for (const { t, e } of pairs) {
    refusedSelfApprovals += t.refusedSelfApprovals;
    for (const r of t.reviews) {
      if (r.verdict === 'approve') approvalReviews++;
      else if (r.verdict === 'deny') denialReviews++;
      if (r.verdict === 'approve' && r.kind !== 'human') nonHumanApprovals++;
      if (!t.submitted) uncheckedReviews++;
    }
    // Every approver the events name, whatever their kind: an agent approving its own request is a self-approval too.
    // One human is one identity: ids compare as canonical humans (an email in any case is one person), and a
    // review made with the requester's own token or sign-in (same issuer and subject) is theirs whatever its id.
    if (t.submitted) {
      const side = requesterSide(t, e);
      const approving = new Map<string, Set<string>>();
      const keysOf = (id: string): Set<string> => {
        const key = humanKey(id);
        let keys = approving.get(key);
        if (!keys) approving.set(key, (keys = new Set([`id ${key}`])));
        return keys;
      };
      for (const id of t.approvedBy) keysOf(id);
      for (const r of t.reviews) {
        if (r.verdict === 'approve' && r.reviewer !== null && r.identity !== null) keysOf(r.reviewer).add(`identity ${r.identity}`);
        else if (r.verdict === 'approve' && r.reviewer !== null) keysOf(r.reviewer);
      }
      for (const keys of approving.values()) {
        if (![...keys].some((k) => side.has(k))) continue;
        selfApprovals++;
        selfApprovalRequests.add(t.id);
      }
    }
    for (const id of approversOf(t)) perApprover.set(id, (perApprover.get(id) ?? 0) + 1);
    if (t.humanDecision && e.timeToDecisionMs !== null) times.push(e.timeToDecisionMs);
  }
  const approved = pairs.filter(({ t }) => t.approvals > 0);
  return {
    heldRequests: pairs.filter(({ t }) => t.held).length,
    approvedRequests: approved.length,
    grantApprovedRequests: approved.filter(({ t }) => t.grant !== null).length,
    approvalReviews,
    denialReviews,
    selfApprovals,
    selfApprovalRequests: [...selfApprovalRequests],
    refusedSelfApprovals,
    nonHumanApprovals,
    uncheckedReviews,
    multiApproverRequests: approved.filter(({ t }) => approversOf(t).length >= 2).length,
    approvers: [...perApprover].map(([id, approvals]) => ({ id, approvals })).sort((a, b) => b.approvals - a.approvals || a.id.localeCompare(b.id)),
    timeToDecision: decisionTimes(times),
  };
}

function scopeText(framework: Framework): string {
  const base =
    'Privileged actions: requests held for human approval, and requests whose parsed facts say they write, except those the policy refused at submission (listed under denied). ' +
    'Separation-of-duties figures count every review in the period.';
  return framework === 'gdpr'
    ? `${base} For GDPR the privileged actions are limited to connections tagged as personal data (data: pii or personal, or compliance including gdpr).`
    : base;
}

/**
 * Builds the report from the audit events written in [from, to).
 *
 * @example
 * const r = await buildEvidence(store, { from: new Date('2026-07-01'), to: new Date('2026-10-01'), framework: 'soc2' });
 * r.sod.selfApprovals; // 0
 */
export async function buildEvidence(store: Store, o: EvidenceOptions): Promise<EvidenceReport> {
  if (!(o.from instanceof Date) || !(o.to instanceof Date) || Number.isNaN(o.from.getTime()) || Number.isNaN(o.to.getTime())) {
    throw new CountersignError('INVALID_REQUEST', 'the period needs a valid from and to time');
  }
  if (o.from.getTime() >= o.to.getTime()) throw new CountersignError('INVALID_REQUEST', 'the period must end after it starts (from is inclusive, to exclusive)');
  if (!FRAMEWORKS.includes(o.framework)) throw new CountersignError('INVALID_REQUEST', `framework must be one of ${FRAMEWORKS.join(', ')}`);

  const size = (await store.treeHead()).size;
  const folded: Folded = { trails: new Map(), policyChanges: [], grantGivers: new Map() };
  const read = await readPeriod(store, o.from, o.to, size, (e) => foldEvents([e], folded));
  for (const t of folded.trails.values()) {
    if (t.submitted || read.firstSeq === null) continue;
    const submitted = await findSubmitted(store, t.id, read.firstSeq);
    if (submitted) {
      o.onEarlier?.(submitted);
      applySubmitted(t, submitted, false);
    }
  }

  // A grant used in the period may have been given before it: its givers come from its grant.created event there.
  for (const t of folded.trails.values()) {
    if (t.grant?.id == null || t.grant.grantedOn === null || folded.grantGivers!.has(t.grant.id) || read.firstSeq === null) continue;
    const created = await findGrantCreated(store, t.grant.grantedOn, t.grant.id, read.firstSeq);
    if (created) {
      o.onEarlier?.(created);
      folded.grantGivers!.set(t.grant.id, strList(created.data['by']));
    }
  }

  const pairs = [...folded.trails.values()].map((t) => ({ t, e: toEntry(t, folded.grantGivers) }));
  const privileged = pairs.filter(({ t, e }) => isPrivileged(t, e)).map(({ e }) => e);
  const actions = o.framework === 'gdpr' ? privileged.filter((e) => e.personalData) : privileged;
  const all = pairs.map(({ e }) => e);
  const denied = all.filter((e) => e.outcome === 'denied');
  const byReview = denied.filter((e) => e.deniedBy === 'review');
  const atExecution = denied.filter((e) => e.deniedBy === 'execute-check');
  const byPolicy = denied.filter((e) => e.deniedBy !== 'review' && e.deniedBy !== 'execute-check');
  const expired = all.filter((e) => e.outcome === 'expired');
  const cancelled = all.filter((e) => e.outcome === 'cancelled');
  // A break-glass the check before running refused (or that expired first) never ran: nothing to review after the fact.
  const neverRan = (t: Trail): boolean => t.outcome === 'denied' || t.outcome === 'expired';
  const breakGlassRefusedAtRun = pairs
    .filter(({ t }) => t.breakGlass !== null && neverRan(t))
    .map(({ t }) => ({ id: t.id, ...t.breakGlass!, outcome: t.outcome as 'denied' | 'expired', code: t.code, message: t.message, refusedAt: t.outcomeAt }))
    .sort((x, y) => x.at.localeCompare(y.at));
  const breakGlass = pairs
    .filter(({ t }) => t.breakGlass !== null && !neverRan(t))
    .map(({ t }) => ({ id: t.id, ...t.breakGlass!, outcome: t.outcome, review: t.afterReview }))
    .sort((x, y) => Number(x.review !== null) - Number(y.review !== null) || x.at.localeCompare(y.at));
  const cps = read.firstSeq !== null && read.lastSeq !== null ? await coveringCheckpoints(store, read.firstSeq, read.lastSeq) : { checkpoints: [], covered: false };

  return {
    format: 'countersign-evidence/1',
    framework: o.framework,
    frameworkTitle: FRAMEWORK_TITLES[o.framework],
    period: { from: o.from.toISOString(), to: o.to.toISOString() },
    generatedAt: (o.clock?.now() ?? new Date()).toISOString(),
    scope: scopeText(o.framework),
    summary: {
      requests: all.length,
      privilegedActions: actions.length,
      routineReads: pairs.filter(({ t, e }) => !isPrivileged(t, e) && e.outcome !== 'denied').length,
      succeeded: actions.filter((e) => e.outcome === 'succeeded').length,
      failed: actions.filter((e) => e.outcome === 'failed').length,
      deniedByPolicy: byPolicy.length,
      deniedByReview: byReview.length,
      deniedAtExecution: atExecution.length,
      expired: expired.length,
      cancelled: cancelled.length,
      openAtEnd: actions.filter((e) => e.outcome === 'pending' || e.outcome === 'approved' || e.outcome === 'executing').length,
      policyChanges: folded.policyChanges.length,
      breakGlass: breakGlass.length,
      breakGlassUnreviewed: breakGlass.filter((b) => b.review === null).length,
      breakGlassRefusedAtRun: breakGlassRefusedAtRun.length,
    },
    controls: controlsFor(o.framework),
    actions,
    sod: sodStats(pairs),
    denied: { byPolicy, byReview, atExecution },
    expired,
    breakGlass,
    breakGlassRefusedAtRun,
    cancelled,
    policyChanges: folded.policyChanges,
    coverage: { ...read, ...cps },
  };
}
