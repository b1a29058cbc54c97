"""The client's own guarantees about its key and the answers it reads, against local HTTP servers.

These need no gateway: a server here plays a hostile or broken one (a redirect
to another host, a proxy that echoes request headers, a body that is not JSON).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Tuple

import gateway_env  # noqa: F401  (puts the package on the path when run from a checkout)

import countersign

KEY = "cs_" + "k3Y" * 14

Reply = Tuple[int, Dict[str, str], bytes]


class Server:
    """A real HTTP server on 127.0.0.1 answering every request with ``reply(handler)``, recording the headers it got."""

    def __init__(self, reply: Callable[[BaseHTTPRequestHandler], Reply], tls: "ssl.SSLContext | None" = None) -> None:
        self.seen: List[Dict[str, str]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append({k.lower(): v for k, v in self.headers.items()})
                status, headers, body = reply(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def echo_headers(h: BaseHTTPRequestHandler) -> str:
    return json.dumps({k: v for k, v in h.headers.items()})


class KeyTest(unittest.TestCase):
    def test_a_redirect_is_not_followed_so_the_key_never_reaches_another_host(self) -> None:
        elsewhere = Server(lambda h: (200, {"Content-Type": "application/json"}, b"{}"))
        self.addCleanup(elsewhere.close)
        redirecting = Server(lambda h: (307, {"Location": elsewhere.url + "/v1/whoami"}, b""))
        self.addCleanup(redirecting.close)
        with self.assertRaises(countersign.HttpError) as caught:
            countersign.Client(url=redirecting.url, key=KEY).whoami()
        self.assertEqual(caught.exception.status, 307)
        self.assertEqual(redirecting.seen[0]["authorization"], f"Bearer {KEY}")
        self.assertEqual(elsewhere.seen, [])

    def test_an_answer_echoing_the_key_is_kept_with_the_key_masked(self) -> None:
        as_error = Server(lambda h: (502, {"Content-Type": "application/json"}, json.dumps({"error": {"code": "INTERNAL", "message": echo_headers(h)}}).encode()))
        self.addCleanup(as_error.close)
        as_text = Server(lambda h: (502, {"Content-Type": "text/plain"}, ("headers: " + echo_headers(h)).encode()))
        self.addCleanup(as_text.close)
        for server, cls in ((as_error, countersign.Internal), (as_text, countersign.InvalidResponse)):
            with self.assertRaises(cls) as caught:
                countersign.Client(url=server.url, key=KEY).whoami()
            e = caught.exception
            self.assertEqual(server.seen[0]["authorization"], f"Bearer {KEY}")
            shown = " ".join((str(e), repr(e), e.message, json.dumps(e.body)))
            self.assertNotIn(KEY, shown)
            self.assertIn("<secret>", shown if cls is countersign.Internal else json.dumps(e.body))

    def test_a_key_a_header_cannot_carry_is_refused_without_quoting_it(self) -> None:
        for bad in (KEY + "\r\nX-Injected: 1", "cs_é" + KEY, ""):
            with self.assertRaises(ValueError) as caught:
                countersign.Client(url="http://127.0.0.1:9", key=bad)
            self.assertNotIn(KEY, str(caught.exception))

    def test_a_url_with_a_password_is_refused_without_quoting_it(self) -> None:
        with self.assertRaises(ValueError) as caught:
            countersign.Client(url="http://agent:hunter2@127.0.0.1:9", key=KEY)
        self.assertNotIn("hunter2", str(caught.exception))

    def test_an_unreachable_gateway_is_a_typed_error(self) -> None:
        down = Server(lambda h: (200, {}, b""))
        url = down.url
        down.close()
        with self.assertRaises(countersign.GatewayUnreachable) as caught:
            countersign.Client(url=url, key=KEY, timeout=5).whoami()
        self.assertIsNone(caught.exception.status)
        self.assertNotIn(KEY, str(caught.exception))


class AnswerTest(unittest.TestCase):
    def test_each_code_of_an_error_answer_raises_its_own_class(self) -> None:
        codes = iter(list(countersign.GATEWAY_ERRORS) + ["SOMETHING_NEWER"])
        current: List[str] = []

        def reply(h: BaseHTTPRequestHandler) -> Reply:
            body = {"error": {"code": current[-1], "message": "m", "traceId": "t-1", "requestId": "req_1"}}
            return 409, {"Content-Type": "application/json"}, json.dumps(body).encode()

        server = Server(reply)
        self.addCleanup(server.close)
        cs = countersign.Client(url=server.url, key=KEY)
        for code in codes:
            current.append(code)
            with self.assertRaises(countersign.CountersignError) as caught:
                cs.get("req_1")
            e = caught.exception
            expected = countersign.GATEWAY_ERRORS.get(code, countersign.CountersignError)
            self.assertIs(type(e), expected, code)
            self.assertEqual((e.code, e.status, e.message, e.trace_id, e.request_id), (code, 409, "m", "t-1", "req_1"))

    def test_an_error_answer_without_an_error_object_is_an_http_error(self) -> None:
        server = Server(lambda h: (503, {"Content-Type": "application/json"}, b'{"busy": true}'))
        self.addCleanup(server.close)
        with self.assertRaises(countersign.HttpError) as caught:
            countersign.Client(url=server.url, key=KEY).whoami()
        self.assertEqual((caught.exception.status, caught.exception.body), (503, {"busy": True}))

    def test_a_request_id_stays_one_path_segment(self) -> None:
        paths: List[str] = []

        def reply(h: BaseHTTPRequestHandler) -> Reply:
            paths.append(h.path)
            return 404, {"Content-Type": "application/json"}, b'{"error": {"code": "NOT_FOUND", "message": "no such request"}}'

        server = Server(reply)
        self.addCleanup(server.close)
        with self.assertRaises(countersign.NotFound):
            countersign.Client(url=server.url, key=KEY).get("../../audit?x=1#y")
        self.assertEqual(paths, ["/v1/requests/..%2F..%2Faudit%3Fx%3D1%23y"])

    def test_a_dot_segment_is_not_a_request_id(self) -> None:
        server = Server(lambda h: (404, {"Content-Type": "application/json"}, b'{"error": {"code": "NOT_FOUND", "message": "no"}}'))
        self.addCleanup(server.close)
        cs = countersign.Client(url=server.url, key=KEY)
        for bad in (".", ".."):
            for call in (lambda: cs.get(bad), lambda: cs.cancel(bad), lambda: cs.poll(bad, 0), lambda: cs.review(bad, "approve")):
                with self.assertRaises(ValueError):
                    call()
        self.assertEqual(server.seen, [])

    def test_raise_on_refuses_a_status_that_is_not_an_outcome(self) -> None:
        server = Server(lambda h: (500, {}, b""))
        self.addCleanup(server.close)
        cs = countersign.Client(url=server.url, key=KEY)
        for bad in (["denyed"], "denied", ["succeeded"]):
            with self.assertRaises(ValueError):
                cs.run("c", {}, reason="r", raise_on=bad)
        self.assertEqual(server.seen, [])  # nothing was submitted


def self_signed(directory: str) -> str:
    """A certificate and key for 127.0.0.1 that no authority signed (openssl: the test needs it, it does not skip)."""
    pem = os.path.join(directory, "gateway.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", pem, "-out", pem + ".crt"],
        check=True, capture_output=True,
    )
    with open(pem, "a") as both, open(pem + ".crt") as crt:
        both.write(crt.read())
    return pem


class TlsTest(unittest.TestCase):
    """An https:// gateway's certificate is verified, whatever else the process has changed."""

    def setUp(self) -> None:
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory, True)
        self.pem = self_signed(directory)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(self.pem)
        self.server = Server(lambda h: (200, {"Content-Type": "application/json"}, b'{"id": "deploy-bot", "kind": "agent", "groups": []}'), tls)
        self.addCleanup(self.server.close)

    def assert_refused(self) -> None:
        with self.assertRaises(countersign.GatewayUnreachable) as caught:
            countersign.Client(url=self.server.url, key=KEY).whoami()
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(caught.exception))
        self.assertNotIn(KEY, str(caught.exception))
        self.assertEqual(self.server.seen, [])  # the key was never sent

    def test_a_certificate_no_trusted_authority_signed_is_refused_before_the_key_is_sent(self) -> None:
        self.assert_refused()

    def test_verification_stays_on_when_other_code_turned_off_urllibs_default(self) -> None:
        # A well-known workaround some scripts and libraries apply process-wide: it must not reach this client.
        default = ssl._create_default_https_context
        ssl._create_default_https_context = ssl._create_unverified_context  # type: ignore[assignment]
        self.addCleanup(setattr, ssl, "_create_default_https_context", default)
        self.assert_refused()

    def test_a_gateway_whose_certificate_is_trusted_through_ssl_cert_file_is_reached(self) -> None:
        before = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = self.pem + ".crt"
        self.addCleanup(lambda: os.environ.__setitem__("SSL_CERT_FILE", before) if before is not None else os.environ.pop("SSL_CERT_FILE", None))
        self.assertEqual(countersign.Client(url=self.server.url, key=KEY).whoami().id, "deploy-bot")
        self.assertEqual(self.server.seen[0]["authorization"], f"Bearer {KEY}")


if __name__ == "__main__":
    unittest.main()
