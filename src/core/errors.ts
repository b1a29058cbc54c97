/**
 * One error base class and one registry of stable codes. A code is what a
 * client can act on; the surface maps it to an HTTP status (or another wire
 * error) and never shows a stack, a SQL error text or a secret.
 */

/** Every stable code with the sentence documented in docs/errors.md. */
export const ERROR_CODES = {
  UNAUTHENTICATED: 'The caller sent no credential, or one that was refused: an API key that matches no principal, or a token that failed verification (`reason` names the check).',
  INVALID_JSON: 'The request body is not valid JSON.',
  INVALID_REQUEST: 'The request body or query does not have the expected shape.',
  INPUT_TOO_DEEP: 'The JSON sent (a request body, an MCP message, an action input or tool arguments) nests objects or arrays more deeply than the gateway accepts (64 levels); nothing was recorded.',
  PAYLOAD_TOO_LARGE: 'The request body is larger than the gateway accepts.',
  TOO_MANY_WAITS: 'One principal already holds as many waits open (long-polls, event streams, held MCP calls) as the gateway allows at once (`server.maxWaitsPerPrincipal`).',
  TOO_MANY_PENDING: 'One principal already has as many held requests pending as the gateway allows at once (`server.maxPendingPerPrincipal`); nothing was recorded.',
  TOO_MANY_ANALYSES: "One principal already has as many long SQL texts (over 16,384 characters) waiting for or in analysis as the gateway allows at once (2), or its long text waited 30 s for the analysis thread, busy with other principals' texts; nothing was recorded and nothing ran.",
  UNKNOWN_CONNECTION: 'The action names a connection that is not configured.',
  UNKNOWN_PRINCIPAL: 'The principal named (for simulation or review) is not configured.',
  INVALID_INPUT: "The action's input does not have the shape its connection kind expects.",
  INPUT_UNPARSEABLE: "The action's input cannot be parsed (for example SQL with a syntax error); it is denied.",
  SQL_SETTING_REFUSED: 'The SQL changes a session setting the gateway pins (how text is parsed, search_path, the role, a timeout, read-only mode), a memory setting past its cap, or a COPY\'s ENCODING; it is denied.',
  UNKNOWN_TOOL: "The MCP tool named is not offered by its connection. Agents see a tool as its connection's name, two underscores, then the tool's name.",
  UPSTREAM_UNAVAILABLE: 'The upstream MCP server could not be started or reached, or did not list its tools.',
  TOOL_DEFINITION_MISMATCH: "The MCP tool definition is not the one expected: a change to accept is no longer the one the upstream shows (nothing was accepted), or a call's tool changed since it was submitted, or is defined otherwise by an upstream connected anew as the call was about to run (it did not run).",
  TOOL_ACCEPTORS_NOT_CONFIGURED: "The MCP connection names no one who may accept a changed tool definition (`pinning.acceptors`), so nobody may; nothing was accepted.",
  NOT_A_TOOL_ACCEPTOR: "The caller is not among the humans the MCP connection lets accept a changed tool definition; nothing was accepted.",
  IDEMPOTENCY_KEY_INVALID: 'The Idempotency-Key header is not 1 to 255 visible ASCII characters (bare, or as a quoted string); nothing was recorded.',
  IDEMPOTENCY_KEY_REUSED: 'The Idempotency-Key was already used by this principal for a different action or reason; nothing was recorded and nothing ran.',
  POLICY_DENIED: 'The policy denied the action.',
  POLICY_ERROR: 'A policy rule failed to evaluate; the action is denied (fail closed).',
  NOT_FOUND: 'No such request, or the caller may not see it.',
  FORBIDDEN: 'The caller may not do this to this request.',
  ROLE_REQUIRED: 'What was asked for (the audit trail, an export, a proof, an evidence report, the coverage map or shadow decisions, removing another human’s passkeys) needs a role the caller does not hold: `auditor` or `admin`, given to humans only.',
  PERIOD_TOO_LARGE: 'A period asked for over the gateway (an audit bundle, an evidence report) holds more audit events than one answer may (`audit.maxExportEvents`); nothing was exported.',
  AGENT_CANNOT_REVIEW: 'Only humans review; an agent can never approve or deny.',
  AGENT_CANNOT_SIGN_IN: 'Only humans sign in to the web console; an agent uses its API key on the REST API.',
  LOGIN_CODE_INVALID: 'A one-time code of `countersign login` was refused at the gateway: unknown, already used, expired, sent to another loopback address than the one given, or redeemed without the PKCE verifier of the sign-in that asked for it (or with another one, which spends it); `reason` says which (`login.code_invalid`, `login.verifier_invalid`). Nothing was issued.',
  LOGIN_STATE_MISMATCH: '`countersign login` received at its loopback address an answer whose `state` is not the one it sent: a sign-in it did not start (another page, another program); it redeemed nothing and stopped.',
  CSRF_REJECTED: 'A console form arrived without its session\'s CSRF token, or from another origin; nothing changed.',
  SELF_APPROVAL_FORBIDDEN: 'The requester, and the human an agent acts for, can never review that request.',
  NOT_AN_APPROVER: 'The reviewer is outside every approver group the request needs.',
  IDENTITY_STALE: 'A review came through a channel that knows its human by a chat account (Slack, Teams) and only a console sign-in older than `identity.login.groupsMaxAge` vouches for their groups from the identity provider: those groups no longer count, and without them the human may not review this request (groups the config file gives them still count); nothing was recorded.',
  IDENTITY_NOT_DISTINCT: 'A review or a break-glass came from someone the gateway cannot tell apart from a human the request is for: the agent names that human by a provider subject or username that no configured human or console sign-in links to a person, or a configured human it is for has never signed in to the console and the reviewer is not named by the configuration (an account under another address could be hers); nothing was recorded.',
  BREAK_GLASS_NOT_ALLOWED: 'A break-glass came from someone who may not break the glass on this request: an agent, the requester or the human it acts for, a human outside the break-glass groups of its rules, or a request whose rules name none; nothing ran.',
  GRANT_NOT_ALLOWED: 'A scoped grant was offered or revoked where it may not be: on a request whose holding rules do not all permit grants, beyond their caps (uses, duration), with a deny, or by an agent or a human who may not revoke it; nothing was recorded.',
  JUSTIFICATION_REQUIRED: 'A break-glass came without a justification (or with one longer than 2000 characters); one is required, and nothing ran.',
  STEP_UP_REQUIRED: 'An approval or a break-glass of a request whose rules require a step-up (`stepUp: webauthn`) came without a fresh passkey confirmation by this human in the console (or the confirmation did not verify: wrong or used challenge, one for another purpose, another request, another human’s passkey, no user verification); nothing was recorded and nothing ran. Registering or removing a passkey can be refused with it too (removing one’s own needs a confirmation with one of one’s passkeys; under `console.webauthn.enrolment: sso` a first passkey needs an identity-provider sign-in), and the check before running denies with it a break-glass given without a passkey where the policy in force then requires one.',
  CONFIRMATION_REQUIRED: 'An approval of a request on a connection tagged production or PII came without its explicit confirmation; nothing was recorded.',
  ALREADY_REVIEWED: 'This human has already reviewed this request; each human counts once.',
  REVIEW_DENIED: 'A human reviewer denied the request; it will not run, and the decision is final.',
  REQUEST_ALREADY_DECIDED: 'The request was already approved or denied; its decision is final.',
  REQUEST_EXPIRED: 'The request passed its time to live without a decision; it is final.',
  REQUEST_CANCELLED: 'The request was withdrawn by its requester; it is final.',
  REQUEST_NOT_PENDING: 'The request is no longer pending, so it cannot be cancelled.',
  REQUESTER_NOT_CONFIGURED: "The principal that asked for the request is no longer one the configuration in force knows: taken out of `principals:`, made another kind, asking with an API key no longer among its `apiKeys` (rotated), or its token's issuer is no longer configured for its kind. The request will not run.",
  DIGEST_MISMATCH: 'The stored action no longer matches the digest that was approved; it will not run.',
  EXECUTION_FAILED: 'The gateway ran the action and the target reported an error.',
  SQL_SESSION_UNSAFE: "The Postgres session could not be shown to read the SQL as the gateway's parser did (standard_conforming_strings, encoding), or a name policy saw would run another schema's function, operator or type, or a relation named without a schema is in two schemas on the search_path, or the SQL reads a credential (pg_authid, a user mapping, a setting such as primary_conninfo, a role's settings), another table's values (TOAST, statistics, large objects) or other sessions' SQL text (pg_stat_activity.query), or writes the server's files (lo_export), whatever rule allowed it; the SQL did not run.",
  UNDO_TOO_MANY_ROWS: 'The write would change more rows than the connection keeps an undo for (maxUndoRows); nothing was changed.',
  UNDO_CONFLICT: 'A revert found rows that changed since the request it reverts ran; nothing was reverted. The message names their primary keys.',
  UNDO_UNAVAILABLE: 'The request has no undo to revert: it did not succeed, is not a captured SQL UPDATE or DELETE (or a revert of one), changed no rows, or its undo was not kept (`undo: false` on the connection or its rules).',
  EXECUTION_INTERRUPTED: 'The outcome of the action is unknown: no outcome was recorded by its run deadline (the gateway running it stopped, or the run outlived its time bound) or the gateway ran it but could not record its outcome, and it may have had an effect, or it could not start in time after claiming it; it is not retried (at most once).',
  AUDIT_INTEGRITY_FAILED: "The audit log's stored events do not have the roots its signed checkpoints commit to (an event or checkpoint was changed, deleted or inserted outside the gateway), so no evidence was made of them and no checkpoint was signed over them.",
  AUDIT_WRITE_FAILED: 'The audit event could not be written, so nothing changed and nothing ran (fail closed).',
  POLICY_NOT_IN_FORCE: "This process's config is not the one in force on its store: another gateway on the store started with a newer version of the file (replicas, workers), or the gateway serving the store runs another policy (`countersign mcp --config`); nothing was decided or ran.",
  CONFIG_INVALID: 'The configuration file is missing, malformed or fails validation.',
  STORE_OF_ANOTHER_CONFIG: 'The store or the audit keys the configuration names were made for another configuration file; nothing was opened.',
  STORE_UNAVAILABLE: 'The database the gateway keeps its state and audit log in cannot be reached, or failed mid-transaction; nothing that needed it changed or ran (fail closed). The gateway reconnects by itself.',
  STORE_BUSY: "Every connection of the gateway's database pool stayed busy for longer than it waits for one, or a statement outlasted `store.postgres.statementTimeout`; nothing changed or ran. Retry after a moment; a lasting case needs a larger `store.postgres.poolSize` or more replicas.",
  INTERNAL: 'An unexpected error inside the gateway; nothing was executed because of it.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The one error type the gateway raises on purpose.
 *
 * @example
 * throw new CountersignError('NOT_AN_APPROVER', 'alice is in none of: sre');
 */
export class CountersignError extends Error {
  readonly code: ErrorCode;
  /** Safe, structured details a client may see (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message?: string, details: Record<string, unknown> = {}) {
    super(message ?? ERROR_CODES[code]);
    this.name = 'CountersignError';
    this.code = code;
    this.details = details;
  }
}

/** True when `e` is a CountersignError, optionally of one code. */
export function isCountersignError(e: unknown, code?: ErrorCode): e is CountersignError {
  return e instanceof CountersignError && (code === undefined || e.code === code);
}
