"""Codes of a call the gateway refused before deciding anything: the caller's
credential, the shape and size of what it sent, the connection, tool or
principal it named, its idempotency key.

Part of :mod:`countersign.codes`, which documents the naming and keeps the registry.
"""

from __future__ import annotations

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


class TooManyWaits(CountersignError):
    """One principal already holds as many waits open (long-polls, event streams, held
    MCP calls) as the gateway allows at once (`server.maxWaitsPerPrincipal`).
    """

    code = "TOO_MANY_WAITS"


class TooManyAnalyses(CountersignError):
    """One principal already has as many long SQL texts (over 16,384 characters)
    waiting for or in analysis as the gateway allows at once (2), or its long text
    waited 30 s for the analysis thread, busy with other principals' texts; nothing
    was recorded and nothing ran.
    """

    code = "TOO_MANY_ANALYSES"


class TooManyPending(CountersignError):
    """One principal already has as many held requests pending as the gateway allows
    at once (`server.maxPendingPerPrincipal`); nothing was recorded.
    """

    code = "TOO_MANY_PENDING"


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
    the role, a timeout, read-only mode), a memory setting past its cap, or a COPY's
    ENCODING; it is denied.
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
    one the upstream shows (nothing was accepted), or a call's tool changed since it was
    submitted, or is defined otherwise by an upstream connected anew as the call was
    about to run (it did not run).
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
