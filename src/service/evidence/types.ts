/**
 * The evidence report's model: what an auditor gets for one period, as data.
 * The HTML page and the JSON file are two renderings of this one value, so
 * every number on the page can be checked against the JSON and, through the
 * checkpoints, against a verifiable audit bundle of the same period.
 */
import type { TagValue } from '../../core/connection.ts';

export const FRAMEWORKS = ['soc2', 'iso27001', 'gdpr'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The report's sections, which the control mapping points at. */
export type SectionId = 'privileged-actions' | 'separation-of-duties' | 'break-glass' | 'denied' | 'expired' | 'policy-changes' | 'integrity';

/** A request someone ran at once, without its approvals, and its after-the-fact review (null: none yet, a finding). */
export interface BreakGlassEntry {
  readonly id: string;
  readonly by: string | null;
  readonly justification: string;
  readonly at: string;
  readonly outcome: Outcome;
  readonly review: { readonly by: string | null; readonly verdict: string | null; readonly comment: string; readonly at: string } | null;
}

/**
 * A break-glass that never ran: the check just before running refused it (the policy in force then denied it or no
 * longer opened break-glass to the human's groups) or it expired first. Nothing ran, so there is nothing to review
 * after the fact; it is listed on its own, not as an open finding.
 */
export interface BreakGlassRefusedEntry {
  readonly id: string;
  readonly by: string | null;
  readonly justification: string;
  readonly at: string;
  readonly outcome: 'denied' | 'expired';
  /** Why it did not run (BREAK_GLASS_NOT_ALLOWED, POLICY_DENIED, REQUEST_EXPIRED, …) and when. */
  readonly code: string | null;
  readonly message: string | null;
  readonly refusedAt: string | null;
}

/** A request's status as the period's last event about it left it ('unknown' when no event says). */
export type Outcome = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'executing' | 'succeeded' | 'failed' | 'unknown';

/** One request as its audit events in the period tell it. */
export interface RequestEntry {
  readonly id: string;
  /** The principal that submitted it; null when its submission could not be found in the log. */
  readonly requester: string | null;
  readonly requesterKind: 'agent' | 'human' | null;
  /** The human the agent acted for. */
  readonly actsFor: string | null;
  readonly connection: string | null;
  readonly connectionKind: string | null;
  readonly tags: Readonly<Record<string, TagValue>>;
  /** True when the connection's tags mark personal data (GDPR scope). */
  readonly personalData: boolean;
  readonly operation: string | null;
  /** One line: the SQL's first line, `METHOD path`, or the argv. */
  readonly summary: string;
  readonly reason: string;
  /** Whether the gateway's facts say the action writes. */
  readonly writes: boolean | null;
  /** The policy's effect, matched rules and version at submission. */
  readonly effect: 'allow' | 'deny' | 'approve' | null;
  readonly rules: readonly string[];
  readonly policyHash: string | null;
  /** The policy version and rules in force when it was claimed for execution (checked again then). */
  readonly executedUnder: { readonly policyHash: string | null; readonly rules: readonly string[] } | null;
  readonly submittedAt: string | null;
  /** False for a request submitted before the period whose later events fall in it. */
  readonly submittedInPeriod: boolean;
  /** When a human approved or denied it (the last such decision), or the policy denied it. */
  readonly decidedAt: string | null;
  readonly timeToDecisionMs: number | null;
  /** Distinct humans who approved it (review events, and the approval event's list). */
  readonly approvers: readonly string[];
  readonly deniers: readonly string[];
  readonly outcome: Outcome;
  readonly outcomeAt: string | null;
  /** For denied requests: who denied it — the policy at submission, a reviewer, or the check before execution. */
  readonly deniedBy: 'policy' | 'review' | 'execute-check' | null;
  /** The error code the request ended with (POLICY_DENIED, REQUEST_EXPIRED, EXECUTION_FAILED, …). */
  readonly code: string | null;
  readonly message: string | null;
  /**
   * The scoped grant that approved it in place of reviewers, or null: which grant, the request it was given on, who
   * gave it (empty when its grant.created event is not in the log) and which use of how many this was.
   */
  readonly grant: { readonly id: string | null; readonly grantedOn: string | null; readonly by: readonly string[]; readonly use: number | null; readonly of: number | null } | null;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export interface DecisionTimes {
  readonly count: number;
  readonly medianMs: number | null;
  readonly p90Ms: number | null;
  readonly maxMs: number | null;
}

/** Separation of duties, counted from the review events themselves. */
export interface SodStats {
  /** Requests held for human approval in the period. */
  readonly heldRequests: number;
  /** Requests that reached quorum in the period (request.approved events). */
  readonly approvedRequests: number;
  /** Of those, the ones a scoped grant approved in place of reviewers (no review of their own: RequestEntry.grant). */
  readonly grantApprovedRequests: number;
  /** Approving reviews recorded in the period. */
  readonly approvalReviews: number;
  readonly denialReviews: number;
  /** Approvals by the requester or the human it acted for. The gateway refuses these; any here is a finding. */
  readonly selfApprovals: number;
  readonly selfApprovalRequests: readonly string[];
  /** Attempts by the requester side to approve that the gateway refused (review.refused): the control at work. */
  readonly refusedSelfApprovals: number;
  /** Approvals recorded for a principal that is not a human. Also refused; any here is a finding. */
  readonly nonHumanApprovals: number;
  /** Reviews on requests whose submission is not in the log: their requester cannot be checked. */
  readonly uncheckedReviews: number;
  /** Approved requests with two or more distinct human approvers. */
  readonly multiApproverRequests: number;
  readonly approvers: readonly { readonly id: string; readonly approvals: number }[];
  /** From submission to the human decision (approve or deny), over requests decided in the period. */
  readonly timeToDecision: DecisionTimes;
}

export interface PolicyChange {
  readonly seq: number;
  readonly time: string;
  readonly actor: string | null;
  readonly old: string | null;
  readonly new: string | null;
  readonly default: string | null;
  readonly file: string | null;
  readonly rules: readonly { readonly id: string; readonly effect: string }[];
}

export interface CheckpointEntry {
  readonly size: number;
  readonly root: string;
  readonly keyId: string;
  readonly createdAt: string;
  /** The signed note exactly as stored: verifiable with the log's verifier key. */
  readonly note: string;
}

/** Which events the report read, and the signed checkpoints that commit to them. */
export interface Coverage {
  /** Null when the period holds no events. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly events: number;
  readonly firstTime: string | null;
  readonly lastTime: string | null;
  /** Hash of the event before the first (the chain link an exported bundle starts from) and of the last. */
  readonly prevHash: string | null;
  readonly lastHash: string | null;
  /** From the first checkpoint at or after the first event up to the first one at or after the last. */
  readonly checkpoints: readonly CheckpointEntry[];
  /** True when a signed checkpoint covers the last event of the period. */
  readonly covered: boolean;
}

export interface ControlRow {
  readonly control: string;
  readonly title: string;
  readonly sections: readonly SectionId[];
  readonly rationale: string;
}

export interface EvidenceSummary {
  readonly requests: number;
  readonly privilegedActions: number;
  /** Requests the policy allowed that neither wrote nor needed approval (counted, not listed). */
  readonly routineReads: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly deniedByPolicy: number;
  readonly deniedByReview: number;
  readonly deniedAtExecution: number;
  readonly expired: number;
  readonly cancelled: number;
  readonly openAtEnd: number;
  readonly policyChanges: number;
  /** Requests run by break-glass in the period, and how many of them have no after-the-fact review in it. */
  readonly breakGlass: number;
  readonly breakGlassUnreviewed: number;
  /** Break-glass attempts refused when they were to run (nothing ran; not a finding). */
  readonly breakGlassRefusedAtRun: number;
}

export interface EvidenceReport {
  readonly format: 'countersign-evidence/1';
  readonly framework: Framework;
  readonly frameworkTitle: string;
  /** ISO times: from inclusive, to exclusive. */
  readonly period: { readonly from: string; readonly to: string };
  readonly generatedAt: string;
  /** What counts as a privileged action here, in words (the GDPR scope included). */
  readonly scope: string;
  readonly summary: EvidenceSummary;
  readonly controls: readonly ControlRow[];
  readonly actions: readonly RequestEntry[];
  readonly sod: SodStats;
  readonly denied: {
    readonly byPolicy: readonly RequestEntry[];
    readonly byReview: readonly RequestEntry[];
    readonly atExecution: readonly RequestEntry[];
  };
  readonly expired: readonly RequestEntry[];
  /** Break-glass runs of the period, unreviewed ones first. */
  readonly breakGlass: readonly BreakGlassEntry[];
  /** Break-glass attempts of the period that never ran (BreakGlassRefusedEntry). */
  readonly breakGlassRefusedAtRun: readonly BreakGlassRefusedEntry[];
  readonly cancelled: readonly RequestEntry[];
  readonly policyChanges: readonly PolicyChange[];
  readonly coverage: Coverage;
}
