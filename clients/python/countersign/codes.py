"""One exception class per stable code of the gateway's registry.

The classes mirror ``ERROR_CODES`` of the gateway (src/core/errors.ts), in its
order, each named for its code in CamelCase (``UNKNOWN_CONNECTION`` →
:class:`UnknownConnection`) and documented with the registry's sentence
(docs/errors.md says what a client should do). A test of the gateway's
repository fails when a code has no class here, or a class no code. The
classes live in three modules by concept (codes_input, codes_review,
codes_run); this one keeps the registry.
"""

from __future__ import annotations

from types import ModuleType
from typing import Dict, Mapping, Type

from . import codes_input, codes_review, codes_run
from .errors import CountersignError
from .codes_input import (
    Unauthenticated,
    InvalidJson,
    InvalidRequest,
    InputTooDeep,
    PayloadTooLarge,
    TooManyWaits,
    TooManyAnalyses,
    TooManyPending,
    UnknownConnection,
    UnknownPrincipal,
    InvalidInput,
    InputUnparseable,
    SqlSettingRefused,
    UnknownTool,
    UpstreamUnavailable,
    ToolDefinitionMismatch,
    ToolAcceptorsNotConfigured,
    RoleRequired,
    PeriodTooLarge,
    NotAToolAcceptor,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)
from .codes_review import (
    PolicyDenied,
    PolicyError,
    NotFound,
    Forbidden,
    AgentCannotReview,
    AgentCannotSignIn,
    CsrfRejected,
    LoginCodeInvalid,
    LoginStateMismatch,
    SelfApprovalForbidden,
    NotAnApprover,
    IdentityStale,
    IdentityNotDistinct,
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
    RequesterNotConfigured,
    DigestMismatch,
)
from .codes_run import (
    ExecutionFailed,
    SqlSessionUnsafe,
    UndoTooManyRows,
    UndoConflict,
    UndoUnavailable,
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


def _classes(*modules: ModuleType) -> Dict[str, Type[CountersignError]]:
    """Code → class for the classes each module defines (not those it imports)."""
    return {
        c.code: c
        for m in modules
        for c in vars(m).values()
        if isinstance(c, type) and issubclass(c, CountersignError) and c.__module__ == m.__name__
    }


#: Code → class, for every code of the gateway's registry.
GATEWAY_ERRORS: Mapping[str, Type[CountersignError]] = _classes(codes_input, codes_review, codes_run)
