"""The client: submit an action, wait through its approval, get the result.

It mirrors the gateway's TypeScript client (src/surfaces/sdk/client.ts):
``run`` submits and waits on the request's durable handle with long-polls
(``GET /v1/requests/{id}?wait=…&from=<status>``), so a restart of the gateway or
of the agent loses nothing: the request id is enough to wait again.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from typing import Any, Callable, Collection, Dict, FrozenSet, List, Optional, Union

from .errors import InvalidResponse
from .outcomes import check_raise_on, raise_for_outcome, timed_out
from .request import Principal, Request
from .transport import Transport, check_key, check_url, error_for

#: Where the client looks without ``url=`` or ``COUNTERSIGN_URL``: the gateway's own default.
DEFAULT_URL = "http://127.0.0.1:8700"
#: How long ``wait`` and ``run`` wait without ``timeout=``, as the TypeScript client does.
DEFAULT_WAIT_SECONDS = 24 * 3600.0
#: The longest single long-poll; the gateway may cut it shorter (``server.maxWaitSeconds``).
LONG_POLL_SECONDS = 30.0

RequestRef = Union[str, Request]
OnRequest = Callable[[Request], None]


class Client:
    """A connection to one gateway, as one principal (its API key or token).

    ``url`` and ``key`` default to ``COUNTERSIGN_URL`` (else ``http://127.0.0.1:8700``)
    and ``COUNTERSIGN_KEY``. ``timeout`` is how long one HTTP call may take, in
    seconds; a long-poll may take that much longer than the wait it asks for.
    The key is never shown: not in ``repr``, not in an exception.

    Example::

        cs = countersign.Client()
        r = cs.run("orders-db", {"sql": "select 1"}, reason="health check")
        print(r.status, r.result)
    """

    def __init__(self, url: Optional[str] = None, key: Optional[str] = None, timeout: float = 30.0) -> None:
        base = url if url is not None else (os.environ.get("COUNTERSIGN_URL") or DEFAULT_URL)
        secret = key if key is not None else os.environ.get("COUNTERSIGN_KEY", "")
        if timeout <= 0:
            raise ValueError("timeout: seconds, more than 0")
        self._t = Transport(check_url(base), check_key(secret), float(timeout))

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return self._t.url

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def whoami(self) -> Principal:
        """The principal the key authenticates as."""
        return Principal.from_json(self._t.ok("GET", "/v1/whoami"))

    def submit(
        self, connection: str, input: Any, reason: Optional[str] = None, *, idempotency_key: Optional[str] = None
    ) -> Request:
        """Submits an action and returns the request as the gateway answered.

        It is ``succeeded`` or ``failed`` when the policy allowed it (the gateway
        ran it), ``pending`` when held for approval, ``denied`` when the policy
        denied it (a denial is returned, not raised; ``run`` can raise it).
        ``reason`` is required: reviewers and the audit log read it.

        ``idempotency_key`` (1 to 255 visible ASCII characters, e.g. a UUID made
        once per action) names this submission: submitting again under the same
        key returns the request the first submission made instead of making
        another, so a retry after a lost answer is safe. The same key with a
        different action or reason raises :class:`IdempotencyKeyReused`.
        """
        if reason is None or not reason.strip():
            raise ValueError("reason: say why (reviewers and the audit log read it)")
        headers = {} if idempotency_key is None else {"Idempotency-Key": _idempotency_header(idempotency_key)}
        action = {"connection": connection, "input": input, "reason": reason}
        status, body = self._t.call("POST", "/v1/actions", action, headers=headers)
        if status == 403 and isinstance(body, dict) and isinstance(body.get("request"), dict):
            return Request.from_json(body["request"])
        if not 200 <= status < 300:
            raise error_for(status, body)
        return _request(body)

    def get(self, id: RequestRef) -> Request:
        """The request as it stands now."""
        return _request(self._t.ok("GET", f"/v1/requests/{_quote(id)}"))

    def poll(self, id: RequestRef, seconds: float = LONG_POLL_SECONDS, from_status: Optional[str] = None) -> Request:
        """One long-poll: returns once the status moves from ``from_status`` (default:
        what it is now), or after ``seconds``, with the request as it stands then.
        (The TypeScript client calls this ``wait``.)
        """
        seconds = max(0.0, float(seconds))
        query: Dict[str, str] = {"wait": _seconds(seconds)}
        if from_status is not None:
            query["from"] = from_status
        path = f"/v1/requests/{_quote(id)}?{urllib.parse.urlencode(query)}"
        return _request(self._t.ok("GET", path, wait=seconds))

    def wait(
        self,
        id: RequestRef,
        timeout: Optional[float] = None,
        *,
        raise_on: Collection[str] = (),
        on_change: Optional[OnRequest] = None,
    ) -> Request:
        """Waits until the request is final and returns it (the TypeScript client's ``settle``).

        Raises :class:`TimedOut` (with the request as last seen) when ``timeout``
        seconds pass first (default: 24 hours); the request goes on at the gateway.
        ``raise_on`` names final statuses to raise as exceptions instead of
        returning: any of ``denied``, ``expired``, ``cancelled``, ``failed``
        (``countersign.ALL_OUTCOMES`` for all). ``on_change`` is called with the
        request each time its status moves.
        """
        wanted = check_raise_on(raise_on)
        end = _deadline(timeout)
        return self._settle(self.get(id), end, timeout, wanted, on_change)

    def run(
        self,
        connection: str,
        input: Any,
        reason: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
        raise_on: Collection[str] = (),
        on_pending: Optional[OnRequest] = None,
        on_change: Optional[OnRequest] = None,
        idempotency_key: Optional[str] = None,
    ) -> Request:
        """Submits an action and waits until its request is final: :meth:`submit`, then :meth:`wait`.

        ``on_pending`` is called once, with the request, if the action is held for
        approval (tell the user who must approve). ``timeout``, ``raise_on`` and
        ``on_change`` are :meth:`wait`'s; ``idempotency_key`` is :meth:`submit`'s
        (a process that restarts and runs the same action under the same key
        waits on the request it made before).

        Example::

            r = cs.run("billing-api", {"method": "POST", "path": "/refunds", "body": {"invoice": "inv_1"}},
                       reason="charged twice", raise_on=countersign.ALL_OUTCOMES,
                       on_pending=lambda p: print("waiting for approval of", p.id))
            print(r.result)
        """
        wanted = check_raise_on(raise_on)  # before submitting: a typo must not leave a request behind
        end = _deadline(timeout)
        first = self.submit(connection, input, reason, idempotency_key=idempotency_key)
        if first.status == "pending" and on_pending is not None:
            on_pending(first)
        return self._settle(first, end, timeout, wanted, on_change)

    def cancel(self, id: RequestRef, reason: Optional[str] = None) -> Request:
        """Withdraws a pending request the caller submitted; returns it, ``cancelled``."""
        body = {"reason": reason} if reason else {}
        return _request(self._t.ok("POST", f"/v1/requests/{_quote(id)}/cancel", body))

    def revert(self, id: RequestRef, reason: Optional[str] = None) -> Request:
        """Asks for an approved SQL write to be put back (README "Undo"): a new request of the
        caller's, held for review like any other. Reviewers, auditors and admins only.
        """
        body = {"reason": reason} if reason else {}
        return _request(self._t.ok("POST", f"/v1/requests/{_quote(id)}/revert", body))

    def list(
        self,
        status: Optional[Collection[str]] = None,
        reviewable: Optional[bool] = None,
        limit: Optional[int] = None,
    ) -> List[Request]:
        """Requests the caller may see (an agent: its own), newest first, without their results."""
        query: Dict[str, str] = {}
        if status:
            query["status"] = ",".join(status)
        if reviewable is not None:
            query["reviewable"] = "true" if reviewable else "false"
        if limit:
            query["limit"] = str(limit)
        body = self._t.ok("GET", f"/v1/requests?{urllib.parse.urlencode(query)}")
        return [Request.from_json(r) for r in (body or {}).get("requests", [])]

    def review(self, id: RequestRef, verdict: str, comment: str = "", digest: Optional[str] = None) -> Request:
        """A human's verdict (``approve`` or ``deny``) on a request; agents are refused.

        Pass the ``digest`` of the request you read: the review then counts only
        for exactly that action (``DigestMismatch`` otherwise).
        """
        body: Dict[str, Any] = {"verdict": verdict, "comment": comment}
        if digest is not None:
            body["digest"] = digest
        return _request(self._t.ok("POST", f"/v1/requests/{_quote(id)}/reviews", body))

    def audit_export(self, from_: Optional[Union[str, int]] = None, to: Optional[Union[str, int]] = None) -> bytes:
        """The verifiable audit bundle of a period, as the bytes of a tar (a human with the auditor or admin role).

        ``from_`` and ``to``: a seq number, or a date (``2026-07-01``) or ISO time with its
        zone (``to`` exclusive); both optional (the whole log). Write the bytes to a file and
        verify it offline: ``countersign audit verify bundle.tar --verifier-key …``. A caller
        without the role gets :class:`RoleRequired`; a longer period than the gateway's
        ``audit.maxExportEvents``, :class:`PeriodTooLarge`.
        """
        query = {k: str(v) for k, v in (("from", from_), ("to", to)) if v is not None}
        return self._t.bytes_ok(f"/v1/audit/export?{urllib.parse.urlencode(query)}")

    def evidence_report(self, from_: str, to: str, framework: str) -> Dict[str, Any]:
        """The evidence report of a period (``countersign-evidence/1``, as JSON), mapped to
        ``soc2``, ``iso27001`` or ``gdpr`` (a human with the auditor or admin role)."""
        query = {"from": from_, "to": to, "framework": framework, "format": "json"}
        body = self._t.ok("GET", f"/v1/evidence/report?{urllib.parse.urlencode(query)}")
        if not isinstance(body, dict) or body.get("format") != "countersign-evidence/1":
            raise InvalidResponse("the gateway answered without an evidence report", body=body)
        return body

    def _settle(
        self,
        r: Request,
        end: float,
        timeout: Optional[float],
        raise_on: FrozenSet[str],
        on_change: Optional[OnRequest],
    ) -> Request:
        while not r.final:
            left = end - time.monotonic()
            if left <= 0:
                waited = DEFAULT_WAIT_SECONDS if timeout is None else timeout
                raise timed_out(r, waited)
            nxt = self.poll(r.id, seconds=max(0.05, min(LONG_POLL_SECONDS, left)), from_status=r.status)
            if nxt.status != r.status and on_change is not None:
                on_change(nxt)
            r = nxt
        return raise_for_outcome(r, raise_on)


def _deadline(timeout: Optional[float]) -> float:
    if timeout is not None and timeout < 0:
        raise ValueError("timeout: seconds, 0 or more")
    return time.monotonic() + (DEFAULT_WAIT_SECONDS if timeout is None else timeout)


def _idempotency_header(key: str) -> str:
    """The key as the IETF draft writes the header: a Structured Field String (quoted, ``"`` and ``\\`` escaped)."""
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or any(not "!" <= c <= "~" for c in key):
        raise ValueError("idempotency_key: 1 to 255 visible ASCII characters (no spaces or control characters)")
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote(id: RequestRef) -> str:
    value = id.id if isinstance(id, Request) else id
    if not value:
        raise ValueError("a request id is required")
    # "." and ".." survive quoting, and a proxy or server that resolves dot segments
    # would send /v1/requests/../cancel to /v1/cancel: an id is one segment, never a step.
    if value in (".", ".."):
        raise ValueError("not a request id")
    return urllib.parse.quote(value, safe="")


def _seconds(s: float) -> str:
    return f"{s:.3f}".rstrip("0").rstrip(".") or "0"


def _request(body: Any) -> Request:
    if not isinstance(body, dict):
        raise InvalidResponse("the gateway answered without a request object", body=body)
    return Request.from_json(body)
