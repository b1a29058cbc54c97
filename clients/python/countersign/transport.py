"""JSON over HTTP to the gateway with urllib, and its answers turned into errors.

The key goes in an ``Authorization`` header that urllib never forwards, and
redirects are not followed at all: a redirect to another host (a hijacked DNS
name, a misconfigured proxy) must not carry the key there. An https:// gateway's
certificate is always verified, whatever the rest of the process has changed.
Anything kept of an answer has the key masked, in case a proxy echoes the
request's headers.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, Optional, Tuple

from .codes import GATEWAY_ERRORS
from .errors import CountersignError, GatewayUnreachable, HttpError, InvalidResponse
from .version import __version__


class _Secret:
    """A string that never shows itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Returning None makes urllib raise the 3xx as an HTTPError: the client reports it, never follows it.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def check_key(key: str) -> str:
    """The key as it will be sent; refuses one that a header cannot carry, without quoting it."""
    key = key.strip()
    if not key:
        raise ValueError("no API key: pass key= or set COUNTERSIGN_KEY")
    # http.client would refuse a CR or LF itself, quoting the whole value in its message.
    if any(not (0x21 <= ord(ch) <= 0x7E) for ch in key):
        raise ValueError("the API key holds a character an HTTP header cannot carry (whitespace or non-ASCII)")
    return key


def check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the gateway URL must be http:// or https:// with a host, not {_without_userinfo(url)!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the gateway URL must not hold a user or password; pass the API key as key=")
    return url.strip().rstrip("/")


def _without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class Transport:
    """Calls of one gateway with one key."""

    def __init__(self, url: str, key: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._key = _Secret(key)
        # A context of its own: urllib's default one is process-wide, and code elsewhere may have set it
        # to skip verification (ssl._create_default_https_context). This one verifies the certificate and
        # the host name, against the system's authorities or SSL_CERT_FILE / SSL_CERT_DIR.
        tls = urllib.request.HTTPSHandler(context=ssl.create_default_context())
        self._opener = urllib.request.build_opener(_NoRedirect(), tls)

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"

    def _mask(self, text: str) -> str:
        key = self._key.reveal()
        # A key of a few characters would mask ordinary words of every result; no issued key is that short.
        return text.replace(key, "<secret>") if len(key) >= 8 else text

    def call(
        self, method: str, path: str, body: Any = None, *, wait: float = 0.0, headers: Optional[Mapping[str, str]] = None
    ) -> Tuple[int, Any]:
        """Sends one request; returns the status and the parsed JSON body (None when empty).

        ``wait`` is how long the gateway may hold the answer (a long-poll): the
        socket's timeout is the client's timeout plus that. ``headers`` are sent
        as well (never in place of the ones set here).
        """
        # allow_nan=False: NaN and Infinity are not JSON; refuse them here rather than send them.
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        status, raw = self._send(method, path, data, wait=wait, headers=headers, accept="application/json")
        return self._parsed(status, raw)

    def bytes_ok(self, path: str) -> bytes:
        """GET of a download (an audit bundle): its bytes, or the typed error of an error answer."""
        status, raw = self._send("GET", path, None, accept="application/x-tar, application/json")
        if not 200 <= status < 300:
            raise error_for(status, self._parsed(status, raw)[1])
        return raw

    def _send(
        self,
        method: str,
        path: str,
        data: Optional[bytes],
        *,
        wait: float = 0.0,
        headers: Optional[Mapping[str, str]] = None,
        accept: str,
    ) -> Tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", accept)
        req.add_header("User-Agent", f"countersign-python/{__version__}")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        req.add_unredirected_header("Authorization", "Bearer " + self._key.reveal())
        try:
            try:
                with self._opener.open(req, timeout=self.timeout + wait) as res:
                    status, raw = res.status, res.read()
            except urllib.error.HTTPError as e:
                status, raw = e.code, b""
                if e.fp is not None:
                    try:
                        raw = e.read()
                    finally:
                        e.close()
        except (OSError, http.client.HTTPException) as e:  # URLError and socket timeouts are OSErrors
            reason = getattr(e, "reason", None) or e
            raise GatewayUnreachable(self._mask(f"cannot reach the gateway at {self.url}: {reason}")) from None
        return status, raw

    def _parsed(self, status: int, raw: bytes) -> Tuple[int, Any]:
        text = self._mask(raw.decode("utf-8", errors="replace"))
        if not text:
            return status, None
        try:
            return status, json.loads(text)
        except ValueError:
            message = f"the gateway answered {status} with a body that is not JSON"
            raise InvalidResponse(message, status=status, body=text[:4000]) from None

    def ok(self, method: str, path: str, body: Any = None, *, wait: float = 0.0) -> Any:
        """Like :meth:`call`, raising the typed error of an error answer."""
        status, parsed = self.call(method, path, body, wait=wait)
        if not 200 <= status < 300:
            raise error_for(status, parsed)
        return parsed


def error_for(status: int, body: Any) -> CountersignError:
    """The exception for an error answer of the gateway: the class of its code.

    A code this client does not know (a newer gateway) gives the base class with
    that code; an answer without an error object gives :class:`HttpError`.
    """
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict) or not isinstance(err.get("code"), str):
        return HttpError(f"the gateway answered {status}", status=status, body=body)
    code: str = err["code"]
    message = err.get("message")
    request_id = err.get("requestId")
    trace_id = err.get("traceId")
    cls = GATEWAY_ERRORS.get(code, CountersignError)
    return cls(
        message if isinstance(message, str) else f"the gateway answered {status}",
        code=code,
        status=status,
        request_id=request_id if isinstance(request_id, str) else None,
        trace_id=trace_id if isinstance(trace_id, str) else None,
        body=body,
    )
