"""Outcomes a caller asks to have raised: a request that ended other than succeeded.

``Client.run(..., raise_on=...)``, ``Client.wait(..., raise_on=...)`` and the
guard raise these, so that an agent framework reports a refusal to the model as
the tool's error. Each carries the request as it ended (``.request``) and the
code the gateway gave its end (``POLICY_DENIED``, ``REVIEW_DENIED``,
``REQUEST_EXPIRED``, ``EXECUTION_FAILED``, ...).
"""

from __future__ import annotations

from typing import Collection, Dict, FrozenSet, Optional, Type

from .errors import CountersignError
from .request import Request

#: Every final status other than ``succeeded``: what ``raise_on`` may name.
ALL_OUTCOMES = frozenset({"denied", "expired", "cancelled", "failed"})


class OutcomeError(CountersignError):
    """A request that did not succeed; ``.request`` is the request as it stands."""

    def __init__(self, request: Request, message: Optional[str] = None, *, code: Optional[str] = None) -> None:
        self.request: Request = request
        err = request.error
        super().__init__(
            message if message is not None else (err.message if err else f"the request is {request.status}"),
            code=code if code is not None else (err.code if err else type(self).code),
            request_id=request.id,
        )


class Denied(OutcomeError):
    """The policy, a human reviewer or the check before running denied the request; it will not run."""

    code = "POLICY_DENIED"


class Expired(OutcomeError):
    """The request passed its time to live without a decision; it will not run."""

    code = "REQUEST_EXPIRED"


class Cancelled(OutcomeError):
    """The request was withdrawn by its requester; it will not run."""

    code = "REQUEST_CANCELLED"


class Failed(OutcomeError):
    """The gateway ran the action and it failed (``.request.result`` says how), or stopped while it ran."""

    code = "EXECUTION_FAILED"


class TimedOut(OutcomeError):
    """The caller's time ran out before the request was final; it goes on at the gateway.

    ``.request`` is the request as last seen (pending, approved or executing):
    wait on ``.request_id`` again, or cancel it.
    """

    code = "TIMED_OUT"


_BY_STATUS: Dict[str, Type[OutcomeError]] = {
    "denied": Denied,
    "expired": Expired,
    "cancelled": Cancelled,
    "failed": Failed,
}


def timed_out(request: Request, waited: float) -> TimedOut:
    message = (
        f"the request is still {request.status} after {waited:g} s; "
        "it goes on at the gateway: wait on it again, or cancel it"
    )
    return TimedOut(request, message)


def check_raise_on(raise_on: Collection[str]) -> FrozenSet[str]:
    """``raise_on`` as a set, refusing a status that is not an outcome (a typo would raise nothing)."""
    wanted = frozenset(raise_on)
    unknown = sorted(wanted - ALL_OUTCOMES)
    if isinstance(raise_on, str) or unknown:
        raise ValueError(f"raise_on: a collection of {sorted(ALL_OUTCOMES)}, not {raise_on!r}")
    return wanted


def raise_for_outcome(request: Request, raise_on: Collection[str] = ALL_OUTCOMES) -> Request:
    """Raises the outcome's exception when the request ended in one of ``raise_on``; else returns it.

    Example::

        r = client.run("billing-api", {"method": "GET", "path": "/invoices"}, reason="list")
        countersign.raise_for_outcome(r)  # Denied, Expired, Cancelled or Failed
    """
    wanted = check_raise_on(raise_on)
    cls = _BY_STATUS.get(request.status)
    if cls is not None and request.status in wanted:
        raise cls(request)
    return request
