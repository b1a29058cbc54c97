"""Codes of running an action and keeping its record: the upstream run, undo,
the audit log, the configuration and the store.

Part of :mod:`countersign.codes`, which documents the naming and keeps the registry.
"""

from __future__ import annotations

from .errors import CountersignError


class ExecutionFailed(CountersignError):
    """The gateway ran the action and the target reported an error."""

    code = "EXECUTION_FAILED"


class SqlSessionUnsafe(CountersignError):
    """The Postgres session could not be shown to read the SQL as the gateway's parser did
    (standard_conforming_strings, encoding), or a name policy saw would run another schema's
    function, operator or type, or a relation named without a schema is in two schemas on the
    search_path, or the SQL reads a credential (pg_authid, a user mapping, a
    setting such as primary_conninfo, a role's settings), another table's values (TOAST,
    statistics, large objects) or other sessions' SQL text (pg_stat_activity.query), or
    writes the server's files (lo_export), whatever rule allowed it; the SQL did not run."""

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
    """The outcome of the action is unknown: no outcome was recorded by its run deadline (the gateway running it stopped, or the run outlived its time bound) or the gateway ran it but could not record its outcome, and it may have had an effect, or it could not start in time after claiming it; it is not retried (at most once).

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
    """This process's config is not the one in force on its store: another gateway on the
    store started with a newer version of the file (replicas, workers), or the gateway
    serving the store runs another policy (`countersign mcp --config`); nothing was
    decided or ran.
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
