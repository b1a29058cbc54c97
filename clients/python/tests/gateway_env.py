"""What the tests need of a running gateway, from the environment.

test/e2e/python-client.test.ts of the gateway's repository starts a real gateway
(with a real HTTP upstream and a throwaway PostgreSQL database) and runs these
tests with:

- ``COUNTERSIGN_URL``, ``COUNTERSIGN_KEY``: the gateway, and an agent's key
  (``deploy-bot``, acting for ``carol``);
- ``COUNTERSIGN_TEST_APPROVER_KEY``: a human approver's key (``alice``, group ``sre``);
- ``COUNTERSIGN_TEST_OTHER_AGENT_KEY``: another agent's key (``other-bot``);
- ``COUNTERSIGN_TEST_HTTP``: an ``http`` connection whose upstream echoes
  ``{echo: "METHOD /path", body, authorized}``: GET allowed, DELETE denied
  ("agents never delete invoices"), POST /refunds held for group ``sre`` (1 h),
  POST /quick held with a time to live of 1 s;
- ``COUNTERSIGN_TEST_UPSTREAM_SECRET``: the credential the gateway sends that
  upstream, given to the tests only to show that nothing an agent sees holds it;
- ``COUNTERSIGN_TEST_SQL``: a ``postgres`` connection to a table
  ``orders (id, status)``: reads allowed, writes held for group ``sre``;
- ``COUNTERSIGN_TEST_AUDITOR_KEY``: a human's key with the ``auditor`` role.

Without them the tests are skipped, loudly, except under ``CI=true``, where a
missing variable fails them: a silent skip there would pass a build that
tested nothing.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import unittest
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

try:
    import countersign  # noqa: F401
except ImportError:  # run from a checkout without PYTHONPATH: the package is next door
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NAMES = (
    "COUNTERSIGN_URL",
    "COUNTERSIGN_KEY",
    "COUNTERSIGN_TEST_APPROVER_KEY",
    "COUNTERSIGN_TEST_OTHER_AGENT_KEY",
    "COUNTERSIGN_TEST_HTTP",
    "COUNTERSIGN_TEST_UPSTREAM_SECRET",
    "COUNTERSIGN_TEST_SQL",
    "COUNTERSIGN_TEST_AUDITOR_KEY",
)


def require() -> Dict[str, str]:
    """The variables, or a skip (a failure under CI=true) naming the missing ones."""
    missing = [n for n in NAMES if not os.environ.get(n)]
    if not missing:
        return {n: os.environ[n] for n in NAMES}
    why = f"no gateway to test against: {', '.join(missing)} not set (test/e2e/python-client.test.ts sets them)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        raise RuntimeError(f"{why}; under CI these tests must run")
    sys.stderr.write(f"\n!!! SKIPPING: {why} !!!\n")
    raise unittest.SkipTest(why)


def rest(env: Dict[str, str], key_name: str, method: str, path: str, body: Any = None) -> Any:
    """A plain REST call with plain urllib, apart from the client under test: the human's side."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(env["COUNTERSIGN_URL"] + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + env[key_name])
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.loads(res.read())


class Beside:
    """Runs ``fn`` in a thread once ``start(value)`` is called; ``result()`` re-raises its failure.

    The human's side of a held action: the agent's call blocks while waiting, so
    the approval comes from another thread, started when the agent is told the
    request is pending.
    """

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self._fn = fn
        self._out: List[Any] = []
        self._err: List[BaseException] = []
        self._thread: Optional[threading.Thread] = None

    def start(self, value: Any) -> None:
        def go() -> None:
            try:
                self._out.append(self._fn(value))
            except BaseException as e:  # re-raised in the test's thread by result()
                self._err.append(e)

        self._thread = threading.Thread(target=go, daemon=True)
        self._thread.start()

    def result(self, timeout: float = 60) -> Any:
        if self._thread is None:
            raise AssertionError("the request was never reported pending")
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("the human's side did not finish")
        if self._err:
            raise self._err[0]
        return self._out[0]
