"""A guarded call asked again after its submission's answer was lost: one request at the gateway, one run.

Between the client and the gateway sits a proxy that, when told to, hands a
submission to the gateway, reads its answer and drops the connection instead of
passing the answer on: the gateway made (and, for an allowed action, ran) the
request, the tool saw a dropped connection. The framework then calls the tool
again for the same tool call.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

import gateway_env
from gateway_env import Beside
from test_guard import approve_as_human

import countersign

ENV: Dict[str, str] = {}
HTTP = ""


def setUpModule() -> None:
    global HTTP
    ENV.update(gateway_env.require())
    HTTP = ENV["COUNTERSIGN_TEST_HTTP"]


class LosingProxy:
    """Forwards HTTP to the gateway; ``lose_next()`` drops the answer of the next submission after the gateway gave it."""

    def __init__(self, target: str) -> None:
        self.lost = 0
        self._lose = 0
        self._lock = threading.Lock()
        parts = urllib.parse.urlsplit(target)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                up = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                up.request(self.command, self.path, body=body or None, headers=headers)
                res = up.getresponse()
                raw = res.read()
                up.close()
                if self.command == "POST" and self.path == "/v1/actions" and proxy._take():
                    self.close_connection = True  # the gateway answered; the client never hears it
                    return
                self.send_response(res.status)
                self.send_header("Content-Type", res.getheader("Content-Type") or "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def lose_next(self) -> None:
        with self._lock:
            self._lose += 1

    def _take(self) -> bool:
        with self._lock:
            if self._lose <= 0:
                return False
            self._lose -= 1
            self.lost += 1
            return True

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def requests_for(invoice: str) -> List[countersign.Request]:
    """The agent's requests whose action names ``invoice`` (ending its path, or its body's invoice), straight from the gateway."""
    mine = countersign.Client().list(limit=500)
    return [r for r in mine if f"{invoice}'" in repr(r.action.input)]


class GuardRetryTest(unittest.TestCase):
    def setUp(self) -> None:
        self.proxy = LosingProxy(ENV["COUNTERSIGN_URL"])
        self.addCleanup(self.proxy.close)
        self.cs = countersign.Client(url=self.proxy.url)

    def test_an_allowed_call_asked_again_after_its_answer_was_lost_runs_once(self) -> None:
        for invoice in ("inv_guard_retry", "inv_guard_retry_async"):

            @countersign.guard(connection=HTTP, client=self.cs, call_id=lambda invoice, call: call)
            def lookup(invoice: str, call: str) -> Dict[str, Any]:
                """Look up an invoice."""
                return {"method": "GET", "path": f"/invoices/{invoice}"}

            @countersign.guard(connection=HTTP, client=self.cs, call_id=lambda invoice, call: call)
            async def lookup_async(invoice: str, call: str) -> Dict[str, Any]:
                """Look up an invoice."""
                return {"method": "GET", "path": f"/invoices/{invoice}"}

            def ask() -> Any:
                return asyncio.run(lookup_async(invoice, "call_1")) if invoice.endswith("async") else lookup(invoice, "call_1")

            self.proxy.lose_next()
            with self.assertRaises(countersign.GatewayUnreachable):
                ask()
            self.assertEqual(self.proxy.lost, 1 if invoice == "inv_guard_retry" else 2)
            self.assertEqual(len(requests_for(invoice)), 1, invoice)  # the gateway made it, and ran it
            result = ask()
            self.assertEqual(result["body"]["echo"], f"GET /api/invoices/{invoice}")
            self.assertEqual(len(requests_for(invoice)), 1, invoice)

    def test_a_held_call_asked_again_after_its_answer_was_lost_waits_on_its_one_request(self) -> None:
        human = Beside(approve_as_human)

        @countersign.guard(connection=HTTP, client=self.cs, timeout=120, on_pending=human.start, call_id=lambda invoice, call: call)
        def refund(invoice: str, call: str) -> Dict[str, Any]:
            """Refund an invoice."""
            return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice}}

        self.proxy.lose_next()
        with self.assertRaises(countersign.GatewayUnreachable):
            refund("inv_guard_retry_held", "call_2")
        first = requests_for("inv_guard_retry_held")
        self.assertEqual([r.status for r in first], ["pending"])
        result = refund("inv_guard_retry_held", "call_2")
        self.assertEqual(human.result().id, first[0].id)  # the retry waited on the first request, approved once
        self.assertEqual(result["body"]["body"], {"invoice": "inv_guard_retry_held"})
        self.assertEqual([r.id for r in requests_for("inv_guard_retry_held")], [first[0].id])

    def test_the_same_call_id_with_another_action_is_another_request(self) -> None:
        @countersign.guard(connection=HTTP, client=self.cs, call_id=lambda invoice, call: call)
        def lookup(invoice: str, call: str) -> Dict[str, Any]:
            """Look up an invoice."""
            return {"method": "GET", "path": f"/invoices/{invoice}"}

        a = lookup("inv_guard_key_a", "call_3")
        b = lookup("inv_guard_key_b", "call_3")  # not IdempotencyKeyReused: the key is of the call and its action
        self.assertEqual((a["body"]["echo"], b["body"]["echo"]), ("GET /api/invoices/inv_guard_key_a", "GET /api/invoices/inv_guard_key_b"))
        self.assertEqual(len(requests_for("inv_guard_key_a")) + len(requests_for("inv_guard_key_b")), 2)

    def test_an_explicit_key_goes_to_the_gateway_as_given(self) -> None:
        @countersign.guard(connection=HTTP, client=self.cs, idempotency_key=lambda invoice: f"order-{invoice}")
        def lookup(invoice: str) -> Dict[str, Any]:
            """Look up an invoice."""
            return {"method": "GET", "path": f"/invoices/{invoice}"}

        self.proxy.lose_next()
        with self.assertRaises(countersign.GatewayUnreachable):
            lookup("inv_guard_explicit")
        lookup("inv_guard_explicit")
        self.assertEqual(len(requests_for("inv_guard_explicit")), 1)
        # The key is the caller's: the same key for another action is refused, never a second request.
        with self.assertRaises(countersign.IdempotencyKeyReused):
            self.cs.submit(HTTP, {"method": "GET", "path": "/invoices/other"}, "x", idempotency_key="order-inv_guard_explicit")


if __name__ == "__main__":
    unittest.main()
