"""``@countersign.guard``: a tool function whose action runs through the gateway.

The mapping is one rule: **the decorated function returns the action's input**
(the dict the connection's kind takes: ``{"sql": …}``, ``{"method": …, "path": …}``,
``{"args": [...]}``, ``{"tool": …, "arguments": {...}}``), built from its
arguments. Calling the guarded function submits that input to ``connection``,
waits through any approval, and returns the gateway's ``result``. A denial,
an expiry, a cancellation or a failed run raises :class:`Denied`,
:class:`Expired`, :class:`Cancelled` or :class:`Failed`, and running out of
``timeout`` raises :class:`TimedOut`, so an agent framework reports the refusal
to the model as the tool's error. A held request the tool stops waiting for
(``timeout``, a cancelled task) is withdrawn: nobody would see its result, and a
model told it timed out may ask again, so a later approval must not run it.

A framework that retries a tool call (its answer lost, its process restarted
from a checkpoint) calls the guarded function again: with ``call_id`` (or
``idempotency_key``) that call submits under the first one's idempotency key and
gets the request the first made, so an allowed action runs once and a held one
is one request, waited on again.

The function itself must only build the input: the gateway, never the agent's
process, holds the connection's credentials and runs the action.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import threading
import time
from typing import Any, Callable, List, Optional, Tuple, Union

from .client import DEFAULT_WAIT_SECONDS, LONG_POLL_SECONDS, Client, OnRequest
from .errors import CountersignError
from .outcomes import ALL_OUTCOMES, TimedOut, raise_for_outcome, timed_out
from .request import Request

Reason = Union[str, Callable[..., str], None]
KeyOf = Optional[Callable[..., Optional[str]]]


def tool_call_key(prefix: str, scope: Optional[str], call_id: str, connection: str, input: Any, reason: str) -> str:
    """The idempotency key of one tool call's submission, as the TypeScript adapters make it (``toolCallKey``).

    ``prefix`` and the SHA-256 of where the call was made (``scope``: a thread, or
    ``None``), the call's id and the action: the same for the same call of the
    same action, another for another action under the same id (never
    ``IdempotencyKeyReused``). For JSON without floats it is the TypeScript key.
    """
    text = json.dumps([scope, call_id, connection, input, reason], separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def guard(
    connection: str,
    *,
    reason: Reason = None,
    client: Optional[Client] = None,
    timeout: Optional[float] = None,
    on_pending: Optional[OnRequest] = None,
    call_id: KeyOf = None,
    idempotency_key: KeyOf = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Makes a function that returns an action's input into a tool that runs it through Countersign.

    ``reason`` is what reviewers read: a string, or a function called with the
    tool's arguments; by default the function's name and the first line of its
    docstring. ``client`` defaults to ``Client()`` (``COUNTERSIGN_URL``,
    ``COUNTERSIGN_KEY``), made at the first call. ``timeout`` bounds the wait
    for a decision and the run, in seconds (default 24 hours). ``on_pending`` is
    called with the request when it is held for approval. An ``async def``
    function gives an ``async`` tool whose waiting does not block the event loop.

    ``call_id``, a function called with the tool's arguments, gives the id the
    framework gave this tool call (e.g. LangChain's injected ``tool_call_id``):
    the call submits under an idempotency key of that id and the action
    (:func:`tool_call_key`), so the framework calling it again after a lost
    answer gets the first call's request instead of making another.
    ``idempotency_key``, a function called with the tool's arguments, gives the
    key itself instead (1 to 255 visible ASCII characters). Either may return
    ``None`` for a call without a key.

    Example::

        @countersign.guard(connection="billing-api")
        def refund_invoice(invoice: str, amount_cents: int) -> dict:
            \"\"\"Refund an invoice to the customer.\"\"\"
            return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice, "amount": amount_cents}}

        refund_invoice("inv_1", 500)  # → {"status": 200, "contentType": ..., "body": {...}} once approved
    """

    if timeout is not None and timeout < 0:
        raise ValueError("timeout: seconds, 0 or more")
    if call_id is not None and idempotency_key is not None:
        raise ValueError("call_id or idempotency_key, not both")
    for name, given in (("call_id", call_id), ("idempotency_key", idempotency_key)):
        # One key for every call would make a second call with other arguments IdempotencyKeyReused.
        if given is not None and not callable(given):
            raise TypeError(f"{name}: a function of the tool's arguments, one value per call")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        described = _describe(fn)
        made: List[Optional[Client]] = [client]
        lock = threading.Lock()

        def client_() -> Client:
            with lock:
                cs = made[0]
                if cs is None:
                    cs = made[0] = Client()
                return cs

        def why(args: Tuple[Any, ...], kwargs: Any) -> str:
            return reason(*args, **kwargs) if callable(reason) else (reason or described)

        def key(args: Tuple[Any, ...], kwargs: Any, action_input: Any, reason_: str) -> Optional[str]:
            if idempotency_key is not None:
                return idempotency_key(*args, **kwargs)
            cid = call_id(*args, **kwargs) if call_id is not None else None
            return tool_call_key("guard", None, str(cid), connection, action_input, reason_) if cid else None

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                action_input = await fn(*args, **kwargs)
                reason_ = why(args, kwargs)
                key_ = key(args, kwargs, action_input, reason_)
                return await _run_async(client_(), connection, action_input, reason_, key_, timeout, on_pending)

            return guarded_async

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            action_input = fn(*args, **kwargs)
            cs = client_()
            reason_ = why(args, kwargs)
            key_ = key(args, kwargs, action_input, reason_)
            try:
                r = cs.run(connection, action_input, reason_, timeout=timeout, raise_on=ALL_OUTCOMES, on_pending=on_pending, idempotency_key=key_)
            except TimedOut as e:
                _withdraw(cs, e.request)
                raise
            return r.result

        return guarded

    return decorate


def _describe(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", "tool")
    doc = inspect.getdoc(fn)
    first = doc.strip().split("\n", 1)[0].strip() if doc else ""
    return f"{name}: {first}" if first else f"the agent called {name}"


async def _run_async(
    cs: Client,
    connection: str,
    action_input: Any,
    reason: str,
    idempotency_key: Optional[str],
    timeout: Optional[float],
    on_pending: Optional[OnRequest],
) -> Any:
    # Each long-poll runs in a thread of its own, so a cancelled task stops waiting after
    # the poll in flight; the request itself stays at the gateway, where it can be waited on again.
    end = time.monotonic() + (DEFAULT_WAIT_SECONDS if timeout is None else timeout)
    r: Request = await asyncio.to_thread(cs.submit, connection, action_input, reason, idempotency_key=idempotency_key)
    if r.status == "pending" and on_pending is not None:
        on_pending(r)
    try:
        while not r.final:
            left = end - time.monotonic()
            if left <= 0:
                waited = DEFAULT_WAIT_SECONDS if timeout is None else timeout
                raise timed_out(r, waited)
            r = await asyncio.to_thread(cs.poll, r.id, max(0.05, min(LONG_POLL_SECONDS, left)), r.status)
    except (TimedOut, asyncio.CancelledError):
        # A plain call, not a thread: a cancelled task may not get to await again.
        _withdraw(cs, r)
        raise
    return raise_for_outcome(r, ALL_OUTCOMES).result


def _withdraw(cs: Client, r: Request) -> None:
    """Cancels a request still held for a decision; one decided meanwhile goes on (it may run)."""
    if r.status != "pending":
        return
    try:
        cs.cancel(r.id, "the agent stopped waiting for a decision")
    except (CountersignError, ValueError):
        pass
