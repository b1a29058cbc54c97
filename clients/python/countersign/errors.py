"""The base exception, and the client's own errors.

Every error the gateway answers carries a stable code (docs/errors.md of the
gateway); the client raises the subclass named for it (codes.py), so an agent
branches on the class or on ``.code``, never on the message. The outcomes of a
request that a caller asks to raise on are in outcomes.py.

A credential never reaches an exception: the gateway never echoes one, and the
client masks its own key in anything it keeps of an answer.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Type


class CountersignError(Exception):
    """An error of the gateway or of the client, with its stable code.

    ``status`` is the HTTP status of the gateway's answer (None when the error did
    not come from an error answer: an outcome, a timeout, an unreachable gateway);
    ``request_id`` names the request the error is about, when there is one;
    ``trace_id`` is the id to quote to an operator.

    Example::

        try:
            client.submit("orders-db", {"sql": "select 1"}, reason="health check")
        except countersign.UnknownConnection as e:
            print(e.code, e.message)
    """

    code: str = "UNKNOWN"

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
        trace_id: Optional[str] = None,
        body: Any = None,
    ) -> None:
        self.message: str = message if message is not None else _first_line(type(self).__doc__)
        if code is not None:
            self.code = code
        self.status: Optional[int] = status
        self.request_id: Optional[str] = request_id
        self.trace_id: Optional[str] = trace_id
        #: The gateway's whole answer (parsed JSON, or text when it was not JSON).
        self.body: Any = body
        super().__init__(self.message)

    def __str__(self) -> str:
        about = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.code}: {self.message}{about}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"status={self.status!r}, request_id={self.request_id!r})"
        )


def _first_line(doc: Optional[str]) -> str:
    return " ".join((doc or "").split("\n\n")[0].split())


# ---------------------------------------------------------------------------
# The client's own codes: an answer that is not the gateway's error object, or
# no answer at all.
# ---------------------------------------------------------------------------


class InvalidResponse(CountersignError):
    """The gateway answered with a body that is not JSON."""

    code = "INVALID_RESPONSE"


class HttpError(CountersignError):
    """The gateway (or a proxy before it) answered an HTTP error without an error object."""

    code = "HTTP_ERROR"


class GatewayUnreachable(CountersignError):
    """The gateway could not be reached, or did not answer in time."""

    code = "GATEWAY_UNREACHABLE"


#: Code → class, for the client's own codes.
CLIENT_ERRORS: Mapping[str, Type[CountersignError]] = {
    c.code: c for c in (InvalidResponse, HttpError, GatewayUnreachable)
}
