"""The request as the gateway's REST API shows it, as typed dataclasses.

The fields are those of the gateway's request view (src/surfaces/http/views.ts):
``GET /v1/requests/{id}``, the answer to ``POST /v1/actions`` and to a review or
a cancellation. Names are in snake_case (``policyHash`` → ``policy_hash``); the
whole answer stays in ``raw`` for a field a newer gateway adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

#: Statuses after which nothing more happens to a request.
TERMINAL_STATUSES = frozenset({"denied", "expired", "cancelled", "succeeded", "failed"})


@dataclass(frozen=True)
class Principal:
    """Who acts: an agent or a human, the human an agent acts for, groups, and roles (auditor, admin; humans only)."""

    id: str
    kind: str
    acts_for: Optional[str]
    groups: List[str]
    roles: List[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Principal":
        return cls(
            id=str(d.get("id", "")),
            kind=str(d.get("kind", "")),
            acts_for=d.get("actsFor"),
            groups=list(d.get("groups") or []),
            roles=list(d.get("roles") or []),
        )


@dataclass(frozen=True)
class Connection:
    """The connection an action is for: its name, kind and tags (never its credentials)."""

    name: str
    kind: str
    tags: Dict[str, Any]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Connection":
        return cls(name=str(d.get("name", "")), kind=str(d.get("kind", "")), tags=dict(d.get("tags") or {}))


@dataclass(frozen=True)
class Action:
    """What was asked: the connection, the operation its kind names, the input and why."""

    connection: str
    operation: str
    input: Any
    reason: str

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Action":
        return cls(
            connection=str(d.get("connection", "")),
            operation=str(d.get("operation", "")),
            input=d.get("input"),
            reason=str(d.get("reason", "")),
        )


@dataclass(frozen=True)
class Decision:
    """The policy's decision: ``allow``, ``deny`` or ``approve``, with the rules that matched."""

    effect: str
    rules: List[str]
    message: Optional[str]
    policy_hash: str
    approvers: List[Dict[str, Any]]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Decision":
        return cls(
            effect=str(d.get("effect", "")),
            rules=list(d.get("rules") or []),
            message=d.get("message"),
            policy_hash=str(d.get("policyHash", "")),
            approvers=list(d.get("approvers") or []),
        )


@dataclass(frozen=True)
class RemainingApproval:
    """Approvals a rule still needs, and from whom (groups or named principals)."""

    rule: str
    groups: List[str]
    principals: List[str]
    needed: int


@dataclass(frozen=True)
class Approvals:
    """While pending: how many approvals are still needed, by rule. Zero otherwise."""

    needed: int
    remaining: List[RemainingApproval]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Approvals":
        remaining = [
            RemainingApproval(
                rule=str(x.get("rule", "")),
                groups=list(x.get("groups") or []),
                principals=list(x.get("principals") or []),
                needed=int(x.get("needed", 0)),
            )
            for x in d.get("remaining") or []
        ]
        return cls(needed=int(d.get("needed", 0)), remaining=remaining)


@dataclass(frozen=True)
class Review:
    """One human's verdict (``approve`` or ``deny``) on the request."""

    reviewer: str
    verdict: str
    comment: str
    at: str


@dataclass(frozen=True)
class RequestError:
    """Why a request was denied, failed or stopped: a stable code and a message."""

    code: str
    message: str


@dataclass(frozen=True)
class Reviewability:
    """For a human viewer: whether they may review the request, and if not, the code saying why."""

    reviewable: bool
    why: Optional[str]


@dataclass(frozen=True)
class Request:
    """The record of one submitted action.

    ``status`` is one of pending, approved, denied, expired, cancelled, executing,
    succeeded, failed. ``result`` is what the gateway's executor returned (for
    ``http``: ``{status, contentType, body}``; for ``postgres``: ``{results: [...]}``;
    for ``exec``: ``{exitCode, signal, stdout, stderr}``), ``error`` why it did not
    succeed. ``digest`` names exactly this action: a human's approval is for it.

    Example::

        r = client.get("req_...")
        if r.final and r.status == "succeeded":
            print(r.result)
    """

    id: str
    status: str
    principal: Principal
    connection: Connection
    action: Action
    facts: Dict[str, Any]
    digest: str
    decision: Decision
    approvals: Approvals
    reviews: List[Review]
    created_at: str
    updated_at: str
    expires_at: Optional[str]
    result: Any
    error: Optional[RequestError]
    #: Only when a human reads the request.
    reviewable: Optional[Reviewability] = None
    #: A held SQL write's impact preview, for its reviewers only: ``{status: previewed, at,
    #: statements: [{command, table, rows, plan}]}``, or ``{status: skipped | failed, at, reason}``.
    preview: Optional[Dict[str, Any]] = None
    #: Only in the answer to a held submission: ``self``, ``wait`` and ``events`` paths.
    links: Dict[str, str] = field(default_factory=dict)
    #: The gateway's answer as it came.
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def final(self) -> bool:
        """True once nothing more will happen to the request."""
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Request":
        error = d.get("error")
        reviewable = d.get("reviewable")
        return cls(
            id=str(d.get("id", "")),
            status=str(d.get("status", "")),
            principal=Principal.from_json(d.get("principal") or {}),
            connection=Connection.from_json(d.get("connection") or {}),
            action=Action.from_json(d.get("action") or {}),
            facts=dict(d.get("facts") or {}),
            digest=str(d.get("digest", "")),
            decision=Decision.from_json(d.get("decision") or {}),
            approvals=Approvals.from_json(d.get("approvals") or {}),
            reviews=[
                Review(
                    reviewer=str(v.get("reviewer", "")),
                    verdict=str(v.get("verdict", "")),
                    comment=str(v.get("comment", "")),
                    at=str(v.get("at", "")),
                )
                for v in d.get("reviews") or []
            ],
            created_at=str(d.get("createdAt", "")),
            updated_at=str(d.get("updatedAt", "")),
            expires_at=d.get("expiresAt"),
            result=d.get("result"),
            error=_error(error),
            reviewable=_reviewability(reviewable),
            preview=dict(d["preview"]) if isinstance(d.get("preview"), dict) else None,
            links=dict(d.get("links") or {}),
            raw=dict(d),
        )


def _error(d: Any) -> Optional[RequestError]:
    if not isinstance(d, dict):
        return None
    return RequestError(code=str(d.get("code", "")), message=str(d.get("message", "")))


def _reviewability(d: Any) -> Optional[Reviewability]:
    if not isinstance(d, dict):
        return None
    return Reviewability(reviewable=bool(d.get("reviewable")), why=d.get("why"))
