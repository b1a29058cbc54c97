/**
 * Folds a period's audit events, in log order, into one trail per request and
 * the list of policy changes. Pure: the same events always give the same
 * trails, so the report is a function of the log and nothing else.
 */
import type { AuditEvent } from '../../core/audit.ts';
import { inputSummary, isPersonalData, obj, str, strList, tagsOf, type Json } from './summary.ts';
import type { Outcome, PolicyChange, RequestEntry } from './types.ts';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);

export interface TrailReview {
  readonly reviewer: string | null;
  readonly kind: string | null;
  readonly verdict: string | null;
  readonly comment: string;
  readonly seq: number;
  /** `issuer subject` of the credential the review came with (a token or single sign-on), else null. */
  readonly identity: string | null;
}

/** The `identity` an audit payload carries (issuer and subject), as one comparable string. */
export function identityOf(v: unknown): string | null {
  const o = obj(v);
  const issuer = str(o['issuer']);
  const subject = str(o['subject']);
  return issuer !== null && subject !== null ? `${issuer} ${subject}` : null;
}

/** One request as seen so far; `submitted` is the request.submitted payload once found. */
export interface Trail {
  readonly id: string;
  firstSeq: number;
  lastSeq: number;
  submitted: Json | null;
  submittedAt: string | null;
  submittedInPeriod: boolean;
  held: boolean;
  reviews: TrailReview[];
  /** Reviews the gateway refused because the reviewer was the requester or the human it acts for. */
  refusedSelfApprovals: number;
  /** The approvers the request.approved event names (all approving reviews, earlier ones included). */
  approvedBy: string[];
  approvals: number;
  decidedAt: string | null;
  humanDecision: boolean;
  outcome: Outcome;
  outcomeAt: string | null;
  deniedBy: RequestEntry['deniedBy'];
  code: string | null;
  message: string | null;
  executedUnder: RequestEntry['executedUnder'];
  /** The break-glass on it (request.break_glass) and its after-the-fact review (review.after_the_fact). */
  breakGlass: { by: string | null; justification: string; at: string } | null;
  afterReview: { by: string | null; verdict: string | null; comment: string; at: string } | null;
  /** The scoped grant that approved it in place of reviewers (grant.used, request.approved `by: grant`). */
  grant: { id: string | null; grantedOn: string | null; use: number | null; of: number | null } | null;
}

export function newTrail(id: string, seq: number): Trail {
  return {
    id,
    firstSeq: seq,
    lastSeq: seq,
    submitted: null,
    submittedAt: null,
    submittedInPeriod: false,
    held: false,
    reviews: [],
    refusedSelfApprovals: 0,
    approvedBy: [],
    approvals: 0,
    decidedAt: null,
    humanDecision: false,
    outcome: 'unknown',
    outcomeAt: null,
    deniedBy: null,
    code: null,
    message: null,
    executedUnder: null,
    breakGlass: null,
    afterReview: null,
    grant: null,
  };
}

/** Takes the request's identity, action and first decision from its request.submitted event. */
export function applySubmitted(t: Trail, e: AuditEvent, inPeriod: boolean): void {
  t.submitted = e.data;
  t.submittedAt = e.time;
  t.submittedInPeriod = inPeriod;
  const decision = obj(e.data['decision']);
  const effect = str(decision['effect']);
  if (effect === 'approve') t.held = true;
  // Allowed outright: the run starts with this event (logs written before that carry a request.executing by policy too).
  if (effect === 'allow') t.executedUnder ??= { policyHash: str(decision['policyHash']), rules: strList(decision['rules']) };
  if (inPeriod && t.outcome === 'unknown') setOutcome(t, effect === 'allow' ? 'executing' : 'pending', e.time);
}

function setOutcome(t: Trail, outcome: Outcome, at: string): void {
  t.outcome = outcome;
  t.outcomeAt = at;
}

/** Applies one event about this request (request.submitted included). */
export function applyEvent(t: Trail, e: AuditEvent): void {
  t.firstSeq = Math.min(t.firstSeq, e.seq);
  t.lastSeq = Math.max(t.lastSeq, e.seq);
  const d = e.data;
  switch (e.type) {
    case 'request.submitted':
      applySubmitted(t, e, true);
      return;
    case 'request.held':
      t.held = true;
      setOutcome(t, 'pending', e.time);
      return;
    case 'request.requeued':
      // The policy tightened after approval: the earlier approval no longer decides it.
      t.held = true;
      t.humanDecision = false;
      t.decidedAt = null;
      // Nor does the grant that approved it: it no longer stood, and reviewers decide it now.
      t.grant = null;
      setOutcome(t, 'pending', e.time);
      return;
    case 'review.recorded': {
      t.held = true;
      const reviewer = obj(d['reviewer']);
      t.reviews.push({ reviewer: str(reviewer['id']), kind: str(reviewer['kind']), verdict: str(d['verdict']), comment: str(d['comment']) ?? '', seq: e.seq, identity: identityOf(d['identity']) });
      return;
    }
    case 'request.break_glass':
      t.held = true;
      t.breakGlass = { by: str(d['by']) ?? e.actor, justification: str(d['justification']) ?? '', at: e.time };
      t.decidedAt = e.time;
      setOutcome(t, 'approved', e.time);
      return;
    case 'review.after_the_fact':
      t.afterReview ??= { by: str(d['reviewer']) ?? e.actor, verdict: str(d['verdict']), comment: str(d['comment']) ?? '', at: e.time };
      return;
    case 'review.refused':
      if (str(d['code']) === 'SELF_APPROVAL_FORBIDDEN') t.refusedSelfApprovals++;
      return;
    case 'grant.used':
      t.grant = { id: str(d['grantId']), grantedOn: str(d['grantedOn']), use: num(d['use']), of: num(d['of']) };
      return;
    case 'request.approved':
      t.held = true;
      t.approvals++;
      t.decidedAt = e.time;
      setOutcome(t, 'approved', e.time);
      // A use of a scoped grant: nobody reviewed this request. Its approvers are the grant's givers, on another
      // request; counted as a human decision here, it would read as one taken on sight, by nobody named.
      if (str(d['by']) === 'grant') {
        t.approvedBy = [];
        t.humanDecision = false;
        t.grant = { id: str(d['grantId']) ?? t.grant?.id ?? null, grantedOn: t.grant?.grantedOn ?? null, use: num(d['use']) ?? t.grant?.use ?? null, of: num(d['of']) ?? t.grant?.of ?? null };
        return;
      }
      t.approvedBy = strList(d['approvers']);
      t.humanDecision = true;
      return;
    case 'request.denied': {
      const by = str(d['by']);
      t.deniedBy = by === 'policy' || by === 'review' || by === 'execute-check' ? by : null;
      if (by === 'review') {
        t.decidedAt = e.time;
        t.humanDecision = true;
        const last = t.reviews.filter((r) => r.verdict === 'deny').at(-1);
        t.code = 'REVIEW_DENIED';
        t.message = last ? `denied by ${last.reviewer ?? '?'}${last.comment ? `: ${last.comment}` : ''}` : null;
      } else {
        if (by === 'policy') t.decidedAt = e.time;
        t.code = str(d['code']) ?? 'POLICY_DENIED';
        t.message = str(d['message']);
      }
      setOutcome(t, 'denied', e.time);
      return;
    }
    case 'request.expired':
      t.held = true; // only a held request expires
      t.code = 'REQUEST_EXPIRED';
      t.message = `no decision before ${str(d['expiresAt']) ?? 'its expiry'}`;
      setOutcome(t, 'expired', e.time);
      return;
    case 'request.cancelled':
      t.held = true; // only a held request can be withdrawn
      t.code = 'REQUEST_CANCELLED';
      t.message = `cancelled by ${e.actor ?? '?'}${str(d['reason']) ? `: ${str(d['reason'])}` : ''}`;
      setOutcome(t, 'cancelled', e.time);
      return;
    case 'request.executing':
      t.executedUnder = { policyHash: str(d['policyHash']), rules: strList(d['rules']) };
      setOutcome(t, 'executing', e.time);
      return;
    case 'request.succeeded':
      t.code = null;
      t.message = null;
      setOutcome(t, 'succeeded', e.time);
      return;
    case 'request.failed': {
      const err = obj(d['error']);
      t.code = str(err['code']) ?? str(d['code']) ?? 'EXECUTION_FAILED';
      t.message = str(err['message']);
      setOutcome(t, 'failed', e.time);
      return;
    }
    default:
      return; // an event type this report does not know still counts in the coverage
  }
}

function policyChange(e: AuditEvent): PolicyChange {
  const d = e.data;
  const rules = Array.isArray(d['rules']) ? d['rules'].map((r) => ({ id: str(obj(r)['id']) ?? '?', effect: str(obj(r)['effect']) ?? '?' })) : [];
  return { seq: e.seq, time: e.time, actor: e.actor, old: str(d['old']), new: str(d['new']), default: str(d['default']), file: str(d['file']), rules };
}

export interface Folded {
  readonly trails: Map<string, Trail>;
  readonly policyChanges: PolicyChange[];
  /** Who gave each grant created in the period (grant.created `by`), by grant id. */
  readonly grantGivers?: Map<string, string[]>;
}

/**
 * @example
 * const { trails } = foldEvents(events); // trails.get('req_…')?.outcome === 'succeeded'
 */
export function foldEvents(events: Iterable<AuditEvent>, into: Folded = { trails: new Map(), policyChanges: [] }): Folded {
  for (const e of events) {
    // A start that changed only the shadowed candidate (policy.candidate) changed nothing enforced.
    if (e.type === 'policy.loaded' && e.data['old'] !== e.data['new']) into.policyChanges.push(policyChange(e));
    const grantId = e.type === 'grant.created' ? str(e.data['grantId']) : null;
    if (grantId !== null) into.grantGivers?.set(grantId, strList(e.data['by']));
    if (e.requestId === null) continue;
    let t = into.trails.get(e.requestId);
    if (!t) into.trails.set(e.requestId, (t = newTrail(e.requestId, e.seq)));
    applyEvent(t, e);
  }
  return into;
}

/** The distinct humans who approved: approving reviews in the period and the approval event's own list. */
export function approversOf(t: Trail): string[] {
  const ids = new Set<string>(t.approvedBy);
  for (const r of t.reviews) if (r.verdict === 'approve' && r.reviewer !== null && r.kind === 'human') ids.add(r.reviewer);
  return [...ids];
}

/**
 * @example
 * toEntry(trail, folded.grantGivers); // { …, grant: { id: 'grt_…', grantedOn: 'req_…', by: ['alice'], use: 1, of: 2 } }
 */
export function toEntry(t: Trail, givers?: ReadonlyMap<string, readonly string[]>): RequestEntry {
  const s = obj(t.submitted);
  const principal = obj(s['principal']);
  const connection = obj(s['connection']);
  const decision = obj(s['decision']);
  const facts = obj(s['facts']);
  const tags = tagsOf(connection['tags']);
  const kind = str(principal['kind']);
  const effect = str(decision['effect']);
  const ttd = t.decidedAt !== null && t.submittedAt !== null ? Date.parse(t.decidedAt) - Date.parse(t.submittedAt) : null;
  return {
    id: t.id,
    requester: str(principal['id']),
    requesterKind: kind === 'agent' || kind === 'human' ? kind : null,
    actsFor: str(principal['actsFor']),
    connection: str(connection['name']),
    connectionKind: str(connection['kind']),
    tags,
    personalData: isPersonalData(tags),
    operation: str(s['operation']),
    summary: t.submitted ? inputSummary(s['input'], facts) : '(submitted before the period; not found in the log)',
    reason: str(s['reason']) ?? '',
    writes: typeof facts['writes'] === 'boolean' ? facts['writes'] : null,
    effect: effect === 'allow' || effect === 'deny' || effect === 'approve' ? effect : null,
    rules: strList(decision['rules']),
    policyHash: str(decision['policyHash']),
    executedUnder: t.executedUnder,
    submittedAt: t.submittedAt,
    submittedInPeriod: t.submittedInPeriod,
    decidedAt: t.decidedAt,
    timeToDecisionMs: ttd !== null && Number.isFinite(ttd) ? ttd : null,
    approvers: approversOf(t),
    deniers: [...new Set(t.reviews.filter((r) => r.verdict === 'deny' && r.reviewer !== null).map((r) => r.reviewer as string))],
    outcome: t.outcome,
    outcomeAt: t.outcomeAt,
    deniedBy: t.deniedBy,
    code: t.code,
    message: t.message,
    grant: t.grant ? { ...t.grant, by: t.grant.id !== null ? [...(givers?.get(t.grant.id) ?? [])] : [] } : null,
    firstSeq: t.firstSeq,
    lastSeq: t.lastSeq,
  };
}
