"""One exception class per stable code of the gateway's registry.

The classes mirror ``ERROR_CODES`` of the gateway (src/core/errors.ts), in its
order, each named for its code in CamelCase (``UNKNOWN_CONNECTION`` →
:class:`UnknownConnection`) and documented with the registry's sentence
(docs/errors.md says what a client should do). A test of the gateway's
repository fails when a code has no class here, or a class no code.
"""

from __future__ import annotations

from typing import Dict, Mapping, Type

from .errors import CountersignError


class Unauthenticated(CountersignError):
    """The caller sent no credential, or one that was refused: an API key that matches no
    principal, or a token that failed verification (`reason` names the check).
    """

    code = "UNAUTHENTICATED"


class InvalidJson(CountersignError):
    """The request body is not valid JSON."""

    code = "INVALID_JSON"


class InvalidRequest(CountersignError):
    """The request body or query does not have the expected shape."""

    code = "INVALID_REQUEST"


class InputTooDeep(CountersignError):
    """The JSON sent (a request body, an MCP message, an action input or tool arguments)
    nests objects or arrays more deeply than the gateway accepts (64 levels); nothing
    was recorded.
    """

    code = "INPUT_TOO_DEEP"


class PayloadTooLarge(CountersignError):
    """The request body is larger than the gateway accepts."""

    code = "PAYLOAD_TOO_LARGE"


class UnknownConnection(CountersignError):
    """The action names a connection that is not configured."""

    code = "UNKNOWN_CONNECTION"


class UnknownPrincipal(CountersignError):
    """The principal named (for simulation or review) is not configured."""

    code = "UNKNOWN_PRINCIPAL"


class InvalidInput(CountersignError):
    """The action's input does not have the shape its connection kind expects."""

    code = "INVALID_INPUT"


class InputUnparseable(CountersignError):
    """The action's input cannot be parsed (for example SQL with a syntax error); it is
    denied.
    """

    code = "INPUT_UNPARSEABLE"


class SqlSettingRefused(CountersignError):
    """The SQL changes a session setting the gateway pins (how text is parsed, search_path,
    the role, a timeout, read-only mode); it is denied.
    """

    code = "SQL_SETTING_REFUSED"


class UnknownTool(CountersignError):
    """The MCP tool named is not offered by its connection. Agents see a tool as its
    connection's name, two underscores, then the tool's name.
    """

    code = "UNKNOWN_TOOL"


class UpstreamUnavailable(CountersignError):
    """The upstream MCP server could not be started or reached, or did not list its tools.

    """

    code = "UPSTREAM_UNAVAILABLE"


class ToolDefinitionMismatch(CountersignError):
    """The MCP tool definition is not the one expected: a change to accept is no longer the
    one the upstream shows (nothing was accepted), or an approved call's tool changed
    since it was submitted (it did not run).
    """

    code = "TOOL_DEFINITION_MISMATCH"


class ToolAcceptorsNotConfigured(CountersignError):
    """The MCP connection names no one who may accept a changed tool definition
    (`pinning.acceptors`), so nobody may; nothing was accepted.
    """

    code = "TOOL_ACCEPTORS_NOT_CONFIGURED"


class RoleRequired(CountersignError):
    """What was asked for (the audit trail, an export, a proof, an evidence report, the
    coverage map or shadow decisions, removing another human’s passkeys) needs a role the caller
    does not hold: `auditor`
    or `admin`, given to humans only.
    """

    code = "ROLE_REQUIRED"


class PeriodTooLarge(CountersignError):
    """A period asked for over the gateway (an audit bundle, an evidence report) holds
    more audit events than one answer may (`audit.maxExportEvents`); nothing was exported.
    """

    code = "PERIOD_TOO_LARGE"


class NotAToolAcceptor(CountersignError):
    """The caller is not among the humans the MCP connection lets accept a changed tool
    definition; nothing was accepted.
    """

    code = "NOT_A_TOOL_ACCEPTOR"


class IdempotencyKeyInvalid(CountersignError):
    """The Idempotency-Key header is not 1 to 255 visible ASCII characters (bare, or as
    a quoted string); nothing was recorded.
    """

    code = "IDEMPOTENCY_KEY_INVALID"


class IdempotencyKeyReused(CountersignError):
    """The Idempotency-Key was already used by this principal for a different action or
    reason; nothing was recorded and nothing ran.
    """

    code = "IDEMPOTENCY_KEY_REUSED"


class PolicyDenied(CountersignError):
    """The policy denied the action."""

    code = "POLICY_DENIED"


class PolicyError(CountersignError):
    """A policy rule failed to evaluate; the action is denied (fail closed)."""

    code = "POLICY_ERROR"


class NotFound(CountersignError):
    """No such request, or the caller may not see it."""

    code = "NOT_FOUND"


class Forbidden(CountersignError):
    """The caller may not do this to this request."""

    code = "FORBIDDEN"


class AgentCannotReview(CountersignError):
    """Only humans review; an agent can never approve or deny."""

    code = "AGENT_CANNOT_REVIEW"


class AgentCannotSignIn(CountersignError):
    """Only humans sign in to the web console; an agent uses its API key on the REST API.

    """

    code = "AGENT_CANNOT_SIGN_IN"


class CsrfRejected(CountersignError):
    """A console form arrived without its session's CSRF token, or from another origin;
    nothing changed.
    """

    code = "CSRF_REJECTED"


class SelfApprovalForbidden(CountersignError):
    """The requester, and the human an agent acts for, can never review that request."""

    code = "SELF_APPROVAL_FORBIDDEN"


class NotAnApprover(CountersignError):
    """The reviewer is outside every approver group the request needs."""

    code = "NOT_AN_APPROVER"


class IdentityStale(CountersignError):
    """A review came through a channel that knows its human by a chat account (Slack, Teams)
    and only a console sign-in older than `identity.login.groupsMaxAge` vouches for their groups
    from the identity provider: those groups no longer count, and without them the human may not
    review this request (groups the config file gives them still count); nothing was recorded.
    """

    code = "IDENTITY_STALE"


class BreakGlassNotAllowed(CountersignError):
    """A break-glass came from someone who may not break the glass on this request: an agent,
    the requester or the human it acts for, a human outside the break-glass groups of its rules,
    or a request whose rules name none; nothing ran.
    """

    code = "BREAK_GLASS_NOT_ALLOWED"


class GrantNotAllowed(CountersignError):
    """A scoped grant was offered or revoked where it may not be: on a request whose holding rules
    do not all permit grants, beyond their caps (uses, duration), with a deny, or by an agent or a
    human who may not revoke it; nothing was recorded.
    """

    code = "GRANT_NOT_ALLOWED"


class JustificationRequired(CountersignError):
    """A break-glass came without a justification (or with one longer than 2000 characters); one
    is required, and nothing ran.
    """

    code = "JUSTIFICATION_REQUIRED"


class StepUpRequired(CountersignError):
    """An approval or a break-glass of a request whose rules require a step-up (`stepUp: webauthn`)
    came without a fresh passkey confirmation by this human in the console (or the confirmation did
    not verify: wrong or used challenge, one for another purpose, another request, another human’s
    passkey, no user verification); nothing was recorded and nothing ran. Registering or removing a
    passkey can be refused with it too (removing one’s own needs a confirmation with one of one’s
    passkeys; under `console.webauthn.enrolment: sso` a first passkey needs an identity-provider
    sign-in), and the check before running denies with it a break-glass given without
    a passkey where the policy in force then requires one.
    """

    code = "STEP_UP_REQUIRED"


class ConfirmationRequired(CountersignError):
    """An approval of a request on a connection tagged production or PII came without its
    explicit confirmation; nothing was recorded.
    """

    code = "CONFIRMATION_REQUIRED"


class AlreadyReviewed(CountersignError):
    """This human has already reviewed this request; each human counts once."""

    code = "ALREADY_REVIEWED"


class ReviewDenied(CountersignError):
    """A human reviewer denied the request; it will not run, and the decision is final."""

    code = "REVIEW_DENIED"


class RequestAlreadyDecided(CountersignError):
    """The request was already approved or denied; its decision is final."""

    code = "REQUEST_ALREADY_DECIDED"


class RequestExpired(CountersignError):
    """The request passed its time to live without a decision; it is final."""

    code = "REQUEST_EXPIRED"


class RequestCancelled(CountersignError):
    """The request was withdrawn by its requester; it is final."""

    code = "REQUEST_CANCELLED"


class RequestNotPending(CountersignError):
    """The request is no longer pending, so it cannot be cancelled."""

    code = "REQUEST_NOT_PENDING"


class DigestMismatch(CountersignError):
    """The stored action no longer matches the digest that was approved; it will not run.

    """

    code = "DIGEST_MISMATCH"


class ExecutionFailed(CountersignError):
    """The gateway ran the action and the target reported an error."""

    code = "EXECUTION_FAILED"


class SqlSessionUnsafe(CountersignError):
    """The Postgres session could not be shown to read the SQL as the gateway's parser did
    (standard_conforming_strings, encoding), or a name policy saw would run another
    schema's function, operator or type; the SQL did not run.
    """

    code = "SQL_SESSION_UNSAFE"


class UndoTooManyRows(CountersignError):
    """The write would change more rows than the connection keeps an undo for (maxUndoRows); nothing was changed."""

    code = "UNDO_TOO_MANY_ROWS"


class UndoConflict(CountersignError):
    """A revert found rows that changed since the request it reverts ran; nothing was reverted. The message names their primary keys."""

    code = "UNDO_CONFLICT"


class UndoUnavailable(CountersignError):
    """The request has no undo to revert: it did not succeed, is not a captured SQL UPDATE or DELETE (or a revert of one), changed no rows, or its undo was not kept (`undo: false` on the connection or its rules)."""

    code = "UNDO_UNAVAILABLE"


class ExecutionInterrupted(CountersignError):
    """The gateway stopped while the action was running, or could not start it in time after claiming it; it is not retried (at most once).

    """

    code = "EXECUTION_INTERRUPTED"


class AuditIntegrityFailed(CountersignError):
    """The audit log's stored events do not have the roots its signed checkpoints commit
    to (an event or checkpoint was changed, deleted or inserted outside the gateway), so
    no evidence was made of them and no checkpoint was signed over them.
    """

    code = "AUDIT_INTEGRITY_FAILED"


class AuditWriteFailed(CountersignError):
    """The audit event could not be written, so nothing changed and nothing ran (fail
    closed).
    """

    code = "AUDIT_WRITE_FAILED"


class PolicyNotInForce(CountersignError):
    """The policy of this process's config is not the one the gateway serving the same
    store runs (`countersign mcp --config`); nothing ran.
    """

    code = "POLICY_NOT_IN_FORCE"


class ConfigInvalid(CountersignError):
    """The configuration file is missing, malformed or fails validation."""

    code = "CONFIG_INVALID"


class StoreOfAnotherConfig(CountersignError):
    """The store or the audit keys the configuration names were made for another
    configuration file; nothing was opened.
    """

    code = "STORE_OF_ANOTHER_CONFIG"


class StoreUnavailable(CountersignError):
    """The database the gateway keeps its state and audit log in cannot be reached, or
    failed mid-transaction; nothing that needed it changed or ran (fail closed). The
    gateway reconnects by itself.
    """

    code = "STORE_UNAVAILABLE"


class StoreBusy(CountersignError):
    """Every connection of the gateway's database pool stayed busy for longer than it waits
    for one, or a statement outlasted `store.postgres.statementTimeout`; nothing changed
    or ran. Retry after a moment; a lasting case needs a larger
    `store.postgres.poolSize` or more replicas.
    """

    code = "STORE_BUSY"


class Internal(CountersignError):
    """An unexpected error inside the gateway; nothing was executed because of it."""

    code = "INTERNAL"


def _registry(*classes: Type[CountersignError]) -> Dict[str, Type[CountersignError]]:
    return {c.code: c for c in classes}


#: Code → class, for every code of the gateway's registry.
GATEWAY_ERRORS: Mapping[str, Type[CountersignError]] = _registry(
    Unauthenticated,
    InvalidJson,
    InvalidRequest,
    InputTooDeep,
    PayloadTooLarge,
    UnknownConnection,
    UnknownPrincipal,
    InvalidInput,
    InputUnparseable,
    SqlSettingRefused,
    UnknownTool,
    UpstreamUnavailable,
    ToolDefinitionMismatch,
    ToolAcceptorsNotConfigured,
    NotAToolAcceptor,
    RoleRequired,
    PeriodTooLarge,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    PolicyDenied,
    PolicyError,
    NotFound,
    Forbidden,
    AgentCannotReview,
    AgentCannotSignIn,
    CsrfRejected,
    SelfApprovalForbidden,
    NotAnApprover,
    IdentityStale,
    BreakGlassNotAllowed,
    GrantNotAllowed,
    JustificationRequired,
    StepUpRequired,
    ConfirmationRequired,
    AlreadyReviewed,
    ReviewDenied,
    RequestAlreadyDecided,
    RequestExpired,
    RequestCancelled,
    RequestNotPending,
    DigestMismatch,
    ExecutionFailed,
    SqlSessionUnsafe,
    UndoUnavailable,
    UndoConflict,
    UndoTooManyRows,
    ExecutionInterrupted,
    AuditIntegrityFailed,
    AuditWriteFailed,
    PolicyNotInForce,
    ConfigInvalid,
    StoreOfAnotherConfig,
    StoreUnavailable,
    StoreBusy,
    Internal,
)
