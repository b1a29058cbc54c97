/**
 * The request: the record of one submitted action, and the only transitions
 * its status may take. Anything else is a bug or a race, and is refused.
 */
import type { Action } from './action.ts';
import type { ConnectionInfo } from './connection.ts';
import type { Facts } from './facts.ts';
import type { Decision } from './policy/decision.ts';
import type { Principal } from './principal.ts';
import type { RequestPreview } from './preview.ts';
import type { UndoOutcome } from './undo.ts';
import type { ErrorCode } from './errors.ts';
import type { Review } from './review.ts';
import type { FiredEscalation } from './escalation.ts';
import type { BreakGlass } from './break-glass.ts';
import type { GrantUse } from './grant.ts';

export const REQUEST_STATUSES = [
  'pending',
  'approved',
  'denied',
  'expired',
  'cancelled',
  'executing',
  'succeeded',
  'failed',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** Statuses after which nothing more happens to a request. */
export const TERMINAL_STATUSES: ReadonlySet<RequestStatus> = new Set([
  'denied',
  'expired',
  'cancelled',
  'succeeded',
  'failed',
]);

// approved → pending: the policy tightened between approval and execution and
// the reviews given no longer meet it; approved → denied: it now denies.
const TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  pending: ['approved', 'denied', 'expired', 'cancelled'],
  // approved → expired: a request that must run in its client's session, whose session never ran it in time.
  approved: ['executing', 'denied', 'pending', 'expired'],
  executing: ['succeeded', 'failed'],
  denied: [],
  expired: [],
  cancelled: [],
  succeeded: [],
  failed: [],
};

export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export interface RequestError {
  /** A registered code (docs/errors.md): why the request was denied, failed or stopped. */
  readonly code: ErrorCode;
  readonly message: string;
}

export interface RequestRecord {
  readonly id: string;
  readonly status: RequestStatus;
  readonly principal: Principal;
  readonly action: Action;
  readonly connection: ConnectionInfo;
  readonly facts: Facts;
  readonly digest: string;
  readonly decision: Decision;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly expiresAt: string | null;
  readonly reviews: readonly Review[];
  readonly result: unknown;
  readonly error: RequestError | null;
  /**
   * While executing: when the run must be over. Past it, with the request
   * still executing, the process that claimed it has died; anything before it
   * may still be running in another gateway on the same store.
   */
  readonly runDeadline?: string | null;
  /** The submission's metadata (surface, client address), which policy sees as `context.request` again at execution. */
  readonly context?: Readonly<Record<string, string>>;
  /**
   * `session`: the action runs only in a live client session of its principal
   * (the Postgres wire listener), never from the pool: after approval it waits
   * for the session holding it, or for the same statement sent again, until
   * `expiresAt`. Absent: the gateway runs it itself once approved.
   */
  readonly runsIn?: 'session';
  /**
   * The connection's target when it was submitted (ConnectionHandle.target): its reviewers approved a run there, and
   * it runs nowhere else. Absent: recorded before targets were, judged by name alone.
   */
  readonly connectionTarget?: string;
  /** W3C traceparent of the submission of a held request (tracing on): its run after approval links back to it. */
  readonly traceparent?: string;
  /**
   * The key its submitter named the submission with (core/idempotency.ts): a
   * retry under it by the same principal returns this request. Absent: none.
   */
  readonly idempotencyKey?: string;
  /**
   * Set on a request held by a submission that resumes by digest (core/resume-key.ts): the store keeps one live
   * request per key, so submissions racing on several processes hold one. Absent: none (any number may share a digest).
   */
  readonly resumeKey?: string;
  /**
   * A held SQL write's impact preview (core/preview.ts), once taken: what it would change, or why it was not run.
   * Shown to reviewers, never to the requesting side (counts of rows an agent could not read would answer it).
   */
  readonly preview?: RequestPreview;
  /**
   * The rungs of its escalation ladder that fired, in order (core/escalation.ts): each widens the approvers of its
   * rule, so who may review derives from what the audit log recorded. Absent: none fired.
   */
  readonly escalations?: readonly FiredEscalation[];
  /** Set when a human broke the glass on it (core/break-glass.ts): who, why, and the after-the-fact review once given. */
  readonly breakGlass?: BreakGlass;
  /**
   * An approved SQL write's undo (core/undo.ts), once it ran: the before-image of its rows, or why it has none.
   * Its rows are read by the revert only; views show undoSummary, never a value.
   */
  readonly undo?: UndoOutcome;
  /** The scoped grant its approval created (core/grant.ts): its id, how many further uses, until when. */
  readonly grant?: { readonly id: string; readonly uses: number; readonly expiresAt: string };
  /** Set when a scoped grant approved it instead of reviewers: which grant, which use of how many. */
  readonly grantedBy?: GrantUse;
  /** Bumped on every write; a store may use it for compare-and-set. */
  readonly version: number;
}

/**
 * The next record with a new status; throws on a transition the state
 * machine does not allow.
 *
 * @example
 * transition(req, 'approved', now); // { ...req, status: 'approved', version: req.version + 1 }
 */
export function transition(
  request: RequestRecord,
  to: RequestStatus,
  now: Date,
  patch: Partial<Pick<RequestRecord, 'result' | 'error' | 'decision' | 'expiresAt' | 'runDeadline'>> = {},
): RequestRecord {
  if (!canTransition(request.status, to)) {
    throw new Error(`illegal transition ${request.status} → ${to} for ${request.id}`);
  }
  return { ...request, ...patch, status: to, updatedAt: now.toISOString(), version: request.version + 1 };
}
