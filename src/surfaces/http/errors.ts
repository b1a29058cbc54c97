/**
 * Error codes → HTTP statuses, at the surface only. A client gets a code, a
 * message it can act on and a trace id; never a stack or an internal text.
 */
import type { ErrorCode } from '../../core/errors.ts';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  INVALID_JSON: 400,
  INPUT_TOO_DEEP: 400,
  INVALID_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_WAITS: 429,
  TOO_MANY_ANALYSES: 429,
  TOO_MANY_PENDING: 429,
  UNKNOWN_CONNECTION: 400,
  UNKNOWN_PRINCIPAL: 400,
  INVALID_INPUT: 400,
  INPUT_UNPARSEABLE: 422,
  SQL_SETTING_REFUSED: 422,
  UNKNOWN_TOOL: 400,
  UPSTREAM_UNAVAILABLE: 502,
  TOOL_DEFINITION_MISMATCH: 409,
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  POLICY_DENIED: 403,
  POLICY_ERROR: 403,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  ROLE_REQUIRED: 403,
  PERIOD_TOO_LARGE: 422,
  AGENT_CANNOT_REVIEW: 403,
  AGENT_CANNOT_SIGN_IN: 403,
  LOGIN_CODE_INVALID: 400,
  LOGIN_STATE_MISMATCH: 400,
  CSRF_REJECTED: 403,
  SELF_APPROVAL_FORBIDDEN: 403,
  NOT_AN_APPROVER: 403,
  IDENTITY_STALE: 403,
  IDENTITY_NOT_DISTINCT: 403,
  BREAK_GLASS_NOT_ALLOWED: 403,
  GRANT_NOT_ALLOWED: 403,
  JUSTIFICATION_REQUIRED: 400,
  STEP_UP_REQUIRED: 403,
  TOOL_ACCEPTORS_NOT_CONFIGURED: 403,
  NOT_A_TOOL_ACCEPTOR: 403,
  CONFIRMATION_REQUIRED: 400,
  ALREADY_REVIEWED: 409,
  REVIEW_DENIED: 403,
  REQUEST_ALREADY_DECIDED: 409,
  REQUEST_EXPIRED: 409,
  REQUEST_CANCELLED: 409,
  REQUEST_NOT_PENDING: 409,
  REQUESTER_NOT_CONFIGURED: 409,
  DIGEST_MISMATCH: 409,
  EXECUTION_FAILED: 502,
  UNDO_UNAVAILABLE: 409,
  UNDO_CONFLICT: 409,
  UNDO_TOO_MANY_ROWS: 502,
  SQL_SESSION_UNSAFE: 502,
  EXECUTION_INTERRUPTED: 500,
  AUDIT_INTEGRITY_FAILED: 500,
  AUDIT_WRITE_FAILED: 503,
  POLICY_NOT_IN_FORCE: 503,
  CONFIG_INVALID: 500,
  STORE_OF_ANOTHER_CONFIG: 500,
  STORE_UNAVAILABLE: 503,
  STORE_BUSY: 503,
  INTERNAL: 500,
};

export interface WireError {
  error: { code: ErrorCode; message: string; traceId: string; [k: string]: unknown };
}

/**
 * A message with any credentials of a connection string masked: the password
 * of a URL (`postgres://user:secret@host`) and `password=` settings. Defence
 * in depth for 5xx messages and /readyz; adapters already keep them out. The
 * match starts at `://`, not at the scheme: a scheme pattern tried from every
 * letter of `a.a.a.…` took quadratic time on a long message.
 *
 * @example
 * withoutSecrets('no route to postgres://cs:hunter2@db:5432/cs'); // 'no route to postgres://cs:***@db:5432/cs'
 */
export function withoutSecrets(message: string): string {
  return message.replace(/(:\/\/[^\s:/@]*:)[^\s@/]*@/g, '$1***@').replace(/\b(password|passwd|pwd)\s*=\s*('[^']*'|"[^"]*"|[^\s&;]+)/gi, '$1=***');
}
