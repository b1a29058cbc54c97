/**
 * The shapes of the gateway's answers as the typed client returns them (`countersign/client` re-exports them all):
 * its error codes, a request, a grant, a tool pin, an evidence report. Types only: this module emits nothing to run.
 */
/**
 * The gateway's stable error codes (docs/errors.md): the `code` of an error
 * answer and of a request that ended in error. Branch on these, never on a
 * message. A test keeps this list equal to the gateway's registry.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_WAITS' | 'TOO_MANY_ANALYSES' | 'TOO_MANY_PENDING'
  | 'UNKNOWN_CONNECTION' | 'UNKNOWN_PRINCIPAL'
  | 'INVALID_INPUT'
  | 'INPUT_UNPARSEABLE'
  | 'INPUT_TOO_DEEP'
  | 'SQL_SETTING_REFUSED'
  | 'UNKNOWN_TOOL'
  | 'UPSTREAM_UNAVAILABLE'
  | 'TOOL_DEFINITION_MISMATCH'
  | 'TOOL_ACCEPTORS_NOT_CONFIGURED'
  | 'NOT_A_TOOL_ACCEPTOR'
  | 'IDEMPOTENCY_KEY_INVALID'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'POLICY_DENIED'
  | 'POLICY_ERROR'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'ROLE_REQUIRED'
  | 'PERIOD_TOO_LARGE'
  | 'AGENT_CANNOT_REVIEW'
  | 'AGENT_CANNOT_SIGN_IN'
  | 'LOGIN_CODE_INVALID' | 'LOGIN_STATE_MISMATCH'
  | 'CSRF_REJECTED'
  | 'SELF_APPROVAL_FORBIDDEN' | 'NOT_AN_APPROVER' | 'IDENTITY_STALE' | 'IDENTITY_NOT_DISTINCT'
  | 'BREAK_GLASS_NOT_ALLOWED' | 'JUSTIFICATION_REQUIRED' | 'STEP_UP_REQUIRED' | 'GRANT_NOT_ALLOWED'
  | 'ALREADY_REVIEWED'
  | 'CONFIRMATION_REQUIRED'
  | 'REVIEW_DENIED'
  | 'REQUEST_ALREADY_DECIDED'
  | 'REQUEST_EXPIRED' | 'REQUEST_CANCELLED'
  | 'REQUEST_NOT_PENDING'
  | 'REQUESTER_NOT_CONFIGURED'
  | 'DIGEST_MISMATCH'
  | 'EXECUTION_FAILED' | 'UNDO_UNAVAILABLE' | 'UNDO_CONFLICT' | 'UNDO_TOO_MANY_ROWS'
  | 'EXECUTION_INTERRUPTED'
  | 'SQL_SESSION_UNSAFE'
  | 'AUDIT_INTEGRITY_FAILED'
  | 'AUDIT_WRITE_FAILED'
  | 'POLICY_NOT_IN_FORCE'
  | 'CONFIG_INVALID'
  | 'STORE_OF_ANOTHER_CONFIG'
  | 'STORE_UNAVAILABLE'
  | 'STORE_BUSY'
  | 'INTERNAL';

/** Codes this client gives a failure that is not the gateway's answer: a body that is not JSON, or not an error object. */
export type ClientErrorCode = 'INVALID_RESPONSE' | 'HTTP_ERROR';

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'executing' | 'succeeded' | 'failed';

export interface RequestView {
  id: string;
  status: RequestStatus;
  principal: { id: string; kind: 'agent' | 'human'; actsFor: string | null; groups: string[] };
  connection: { name: string; kind: string; tags: Record<string, unknown> };
  action: { connection: string; operation: string; input: unknown; reason: string };
  facts: Record<string, unknown> & { writes: boolean };
  digest: string;
  decision: { effect: 'allow' | 'deny' | 'approve'; rules: string[]; message: string | null; policyHash: string; approvers: unknown[] };
  approvals: { needed: number; remaining: { rule: string; groups: string[]; principals: string[]; needed: number }[] };
  reviews: { reviewer: string; verdict: 'approve' | 'deny'; comment: string; at: string }[];
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  result: unknown;
  error: { code: ErrorCode; message: string } | null;
  reviewable?: { reviewable: boolean; why: string | null };
  /** A held SQL write's impact preview (reviewers only): what it would change, in a transaction rolled back; or why it was not run. */
  preview?: { status: 'previewed'; at: string; statements: { command: string; table: string; rows: number; plan?: string }[] } | { status: 'skipped' | 'failed'; at: string; reason: string; sqlstate?: string };
  escalation?: { key: string; rule: string; afterSeconds: number; groups: string[]; principals: string[]; dueAt: string; firedAt: string | null }[]; // README, "Safety nets"
  stepUp?: 'webauthn' | null; // approvals need a passkey confirmation in the console
  breakGlass?: { by: string; justification: string; at: string; stepUp?: { method: 'webauthn'; credentialId: string } | null; review: { by: string; verdict: 'approve' | 'deny'; comment: string; at: string } | null } | null;
  grant?: { id: string; uses: number; expiresAt: string }; // the scoped grant this request's approval created
  grantedBy?: { grantId: string; use: number; of: number }; // the scoped grant that approved this request
  /** An approved SQL write's undo (README "Undo"): whether it can be reverted and what it changed, never a row. */
  undo?: { available: true; command: 'UPDATE' | 'DELETE'; table: string; rows: number } | { available: false; reason: string };
  /** A held wire statement's session where it differs from a new one (README "What reviewers see of the session"): settings, and temporary objects, cursors or the role it runs as, one line each. */
  session?: { settings: string[]; objects: string[] };
  /** Only on the answer to a submission that was held: where to follow it, and its page in the console (when the gateway runs one). */
  links?: { self: string; wait: string; events: string; console?: string };
}

/** A scoped grant (README "Scoped grants"): what it covers, how many of its uses are spent, and whether it still stands. */
export type GrantView = { id: string; requestId: string; status: 'active' | 'used-up' | 'expired' | 'revoked'; principal: { id: string; kind: string; actsFor: string | null }; connection: string; operation: string; uses: number; used: number; vary: string[]; rules: string[]; by: string[]; createdAt: string; expiresAt: string; revoked: { by: string; at: string } | null };
/** One MCP tool's pin: the accepted definition, and a changed one seen since (until accepted). */
export interface ToolPinView {
  connection: string;
  tool: string;
  state: 'pinned' | 'changed';
  hash: string;
  definition: { name: string; title?: string; description?: string; inputSchema: unknown; outputSchema?: unknown; annotations?: Record<string, unknown> };
  pinnedAt: string;
  pinnedBy: string;
  changed: { hash: string; definition: ToolPinView['definition']; seenAt: string } | null;
}

/** A period of the audit log: a seq number, or a date (`2026-07-01`) or ISO time with its zone; `to` is exclusive for times. */
export interface AuditPeriod { from?: string | number; to?: string | number }

/** The evidence report (`countersign-evidence/1`), as `countersign evidence report` writes its JSON; docs: README, "Evidence reports". */
export interface EvidenceReportView {
  format: 'countersign-evidence/1';
  framework: 'soc2' | 'iso27001' | 'gdpr';
  period: { from: string; to: string };
  generatedAt: string;
  summary: Record<string, number>;
  [section: string]: unknown;
}

export interface ActionRequest { connection: string; input: unknown; reason: string }
