"""The client against a real gateway: allowed, held and approved, denied, timed out, cancelled, refused."""

from __future__ import annotations

import json
import unittest
import uuid
from typing import Any, Dict

import gateway_env
from gateway_env import Beside, rest

import countersign

ENV: Dict[str, str] = {}


def setUpModule() -> None:
    ENV.update(gateway_env.require())


def refund(invoice: str) -> Dict[str, Any]:
    return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice}}


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.cs = countersign.Client()  # COUNTERSIGN_URL and COUNTERSIGN_KEY
        self.http = ENV["COUNTERSIGN_TEST_HTTP"]
        self.secret = ENV["COUNTERSIGN_TEST_UPSTREAM_SECRET"]

    def test_whoami_names_the_agent_of_the_key(self) -> None:
        me = self.cs.whoami()
        self.assertEqual((me.id, me.kind, me.acts_for), ("deploy-bot", "agent", "carol"))
        # An agent holds no role, not even one acting for a human who does.
        self.assertEqual(me.roles, [])
        self.assertEqual(self.cs.url, ENV["COUNTERSIGN_URL"].rstrip("/"))
        self.assertNotIn(ENV["COUNTERSIGN_KEY"], repr(self.cs))

    def test_allowed_action_runs_at_once_with_the_gateways_credential(self) -> None:
        r = self.cs.run(self.http, {"method": "GET", "path": "/invoices", "query": {"limit": "5"}}, reason="list invoices")
        self.assertEqual(r.status, "succeeded")
        self.assertEqual(r.decision.effect, "allow")
        self.assertEqual(r.result["status"], 200)
        self.assertEqual(r.result["body"]["echo"], "GET /api/invoices?limit=5")
        # The upstream got the connection's credential; the agent never sees it.
        self.assertIs(r.result["body"]["authorized"], True)
        self.assertNotIn(self.secret, json.dumps(r.raw))
        self.assertNotIn(self.secret, repr(r))

    def test_held_action_runs_once_a_human_approves_it_by_its_digest(self) -> None:
        def approve(pending: countersign.Request) -> Any:
            # The human reads the request as it stands, then approves exactly that action.
            seen = rest(ENV, "COUNTERSIGN_TEST_APPROVER_KEY", "GET", f"/v1/requests/{pending.id}")
            assert seen["status"] == "pending" and seen["reviewable"]["reviewable"], seen
            return rest(ENV, "COUNTERSIGN_TEST_APPROVER_KEY", "POST", f"/v1/requests/{pending.id}/reviews", {"verdict": "approve", "comment": "ok", "digest": seen["digest"]})

        human = Beside(approve)
        changes: list = []
        r = self.cs.run(self.http, refund("inv_held"), reason="charged twice", timeout=120, on_pending=human.start, on_change=lambda x: changes.append(x.status))
        self.assertIn(human.result()["status"], ("approved", "executing", "succeeded"))
        self.assertEqual(r.status, "succeeded")
        self.assertEqual(r.result["body"]["echo"], "POST /api/refunds")
        self.assertEqual(r.result["body"]["body"], {"invoice": "inv_held"})
        self.assertEqual([(v.reviewer, v.verdict) for v in r.reviews], [("alice", "approve")])
        self.assertEqual(r.decision.effect, "approve")
        self.assertEqual(changes[-1], "succeeded")

    def test_policy_denial_raises_denied_with_its_code_and_message(self) -> None:
        with self.assertRaises(countersign.Denied) as caught:
            self.cs.run(self.http, {"method": "DELETE", "path": "/invoices/inv_1"}, reason="clean up", raise_on=countersign.ALL_OUTCOMES)
        e = caught.exception
        self.assertIsInstance(e, countersign.CountersignError)
        self.assertEqual(e.code, "POLICY_DENIED")
        self.assertEqual(e.message, "agents never delete invoices")
        self.assertEqual(e.request.status, "denied")
        self.assertEqual(e.request_id, e.request.id)
        self.assertIn("no-deletes", e.request.decision.rules)
        # Without raise_on the denied request is returned, as the TypeScript client does.
        r = self.cs.submit(self.http, {"method": "DELETE", "path": "/invoices/inv_1"}, reason="clean up")
        self.assertEqual((r.status, r.error.code if r.error else None), ("denied", "POLICY_DENIED"))

    def test_a_human_denial_raises_denied_with_the_reviewers_comment(self) -> None:
        def deny(pending: countersign.Request) -> Any:
            return rest(ENV, "COUNTERSIGN_TEST_APPROVER_KEY", "POST", f"/v1/requests/{pending.id}/reviews", {"verdict": "deny", "comment": "not this one", "digest": pending.digest})

        human = Beside(deny)
        with self.assertRaises(countersign.Denied) as caught:
            self.cs.run(self.http, refund("inv_review_denied"), reason="refund", timeout=120, raise_on=["denied"], on_pending=human.start)
        human.result()
        self.assertEqual(caught.exception.code, "REVIEW_DENIED")
        self.assertIn("not this one", caught.exception.message)

    def test_unknown_connection_raises_its_typed_error(self) -> None:
        with self.assertRaises(countersign.UnknownConnection) as caught:
            self.cs.submit("no-such-connection", {"method": "GET", "path": "/"}, reason="probe")
        e = caught.exception
        self.assertEqual((e.code, e.status), ("UNKNOWN_CONNECTION", 400))
        self.assertIsInstance(e, countersign.CountersignError)
        self.assertTrue(e.trace_id)
        self.assertNotIn(ENV["COUNTERSIGN_KEY"], str(e) + repr(e) + json.dumps(e.body))

    def test_a_refused_key_raises_unauthenticated_without_showing_the_key(self) -> None:
        wrong = "cs_" + "Zx9" * 14
        cs = countersign.Client(key=wrong)
        with self.assertRaises(countersign.Unauthenticated) as caught:
            cs.whoami()
        e = caught.exception
        self.assertEqual((e.code, e.status), ("UNAUTHENTICATED", 401))
        for shown in (str(e), repr(e), e.message, repr(e.args), json.dumps(e.body), repr(cs)):
            self.assertNotIn(wrong, shown)

    def test_wait_times_out_with_the_request_still_pending(self) -> None:
        held = self.cs.submit(self.http, refund("inv_timeout"), reason="refund later")
        self.assertEqual(held.status, "pending")
        self.assertGreater(held.approvals.needed, 0)
        with self.assertRaises(countersign.TimedOut) as caught:
            self.cs.wait(held.id, timeout=1)
        e = caught.exception
        self.assertEqual((e.code, e.request_id, e.request.status), ("TIMED_OUT", held.id, "pending"))
        self.assertEqual(self.cs.get(held.id).status, "pending")
        self.cs.cancel(held.id, reason="no longer needed")

    def test_cancel_withdraws_a_pending_request_for_good(self) -> None:
        held = self.cs.submit(self.http, refund("inv_cancel"), reason="refund")
        r = self.cs.cancel(held, reason="wrong invoice")
        self.assertEqual(r.status, "cancelled")
        self.assertEqual(r.error.code if r.error else None, "REQUEST_CANCELLED")
        with self.assertRaises(countersign.Cancelled) as caught:
            self.cs.wait(held.id, timeout=10, raise_on=countersign.ALL_OUTCOMES)
        self.assertEqual(caught.exception.message, "wrong invoice")
        with self.assertRaises(countersign.RequestNotPending) as again:
            self.cs.cancel(held.id)
        self.assertEqual(again.exception.status, 409)

    def test_a_request_left_past_its_time_to_live_raises_expired(self) -> None:
        with self.assertRaises(countersign.Expired) as caught:
            self.cs.run(self.http, {"method": "POST", "path": "/quick", "body": {"invoice": "inv_expired"}}, reason="quick", timeout=120, raise_on=countersign.ALL_OUTCOMES)
        self.assertEqual(caught.exception.code, "REQUEST_EXPIRED")
        self.assertEqual(caught.exception.request.status, "expired")

    def test_a_retry_under_one_idempotency_key_gets_the_first_request_and_it_runs_once(self) -> None:
        key = f"py-\"quoted\"-\\-{uuid.uuid4()}"
        first = self.cs.submit(self.http, refund("inv_idem"), reason="charged twice", idempotency_key=key)
        self.assertEqual(first.status, "pending")
        again = self.cs.submit(self.http, refund("inv_idem"), reason="charged twice", idempotency_key=key)
        self.assertEqual((again.id, again.status), (first.id, "pending"))
        with self.assertRaises(countersign.IdempotencyKeyReused) as reused:
            self.cs.submit(self.http, refund("inv_idem_other"), reason="charged twice", idempotency_key=key)
        self.assertEqual(reused.exception.status, 422)
        with self.assertRaises(ValueError):
            self.cs.submit(self.http, refund("inv_idem_bad"), reason="charged twice", idempotency_key="has space")

        # A process that restarts and runs the same action under the same key waits on the request it made before.
        human = Beside(lambda pending: rest(ENV, "COUNTERSIGN_TEST_APPROVER_KEY", "POST", f"/v1/requests/{pending.id}/reviews", {"verdict": "approve"}))
        r = self.cs.run(self.http, refund("inv_idem"), reason="charged twice", timeout=120, on_pending=human.start, idempotency_key=key)
        human.result()
        self.assertEqual((r.id, r.status), (first.id, "succeeded"))
        self.assertEqual(self.cs.submit(self.http, refund("inv_idem"), reason="charged twice", idempotency_key=key).status, "succeeded")


class AttackerTest(unittest.TestCase):
    """What an agent holding only its own key cannot do."""

    def setUp(self) -> None:
        self.cs = countersign.Client()
        self.http = ENV["COUNTERSIGN_TEST_HTTP"]

    def test_an_agent_cannot_approve_its_own_held_request(self) -> None:
        held = self.cs.submit(self.http, refund("inv_self_approval"), reason="refund")
        with self.assertRaises(countersign.AgentCannotReview):
            self.cs.review(held.id, "approve", digest=held.digest)
        self.assertEqual(self.cs.get(held.id).status, "pending")
        self.cs.cancel(held.id)

    def test_another_agent_can_neither_see_nor_cancel_the_request(self) -> None:
        held = self.cs.submit(self.http, refund("inv_other_agent"), reason="refund")
        other = countersign.Client(key=ENV["COUNTERSIGN_TEST_OTHER_AGENT_KEY"])
        with self.assertRaises(countersign.NotFound):
            other.get(held.id)
        with self.assertRaises(countersign.NotFound):  # not even told the request exists
            other.cancel(held.id)
        self.assertEqual(self.cs.get(held.id).status, "pending")
        self.cs.cancel(held.id)

    def test_nothing_the_agent_reads_holds_the_connections_credential(self) -> None:
        secret = ENV["COUNTERSIGN_TEST_UPSTREAM_SECRET"]
        ran = self.cs.run(self.http, {"method": "GET", "path": "/invoices/inv_1"}, reason="read one", raise_on=countersign.ALL_OUTCOMES)
        self.assertIs(ran.result["body"]["authorized"], True)
        seen = self.cs.list(limit=1000)
        self.assertIn(ran.id, [r.id for r in seen])
        for r in seen:
            self.assertNotIn(secret, json.dumps(r.raw))
            self.assertNotIn(secret, json.dumps(self.cs.get(r.id).raw))


class SqlTest(unittest.TestCase):
    def setUp(self) -> None:
        self.cs = countersign.Client()
        self.db = ENV["COUNTERSIGN_TEST_SQL"]

    def test_an_allowed_read_returns_the_rows(self) -> None:
        r = self.cs.run(self.db, {"sql": "SELECT id, status FROM orders WHERE id <= $1 ORDER BY id", "params": [2]}, reason="look at orders", raise_on=countersign.ALL_OUTCOMES)
        self.assertEqual(r.facts["sql"]["readOnly"], True)
        self.assertEqual(r.result["results"][0]["rows"], [[1, "open"], [2, "open"]])

    def test_a_write_is_held_and_not_run_before_approval(self) -> None:
        held = self.cs.submit(self.db, {"sql": "DELETE FROM orders WHERE id = $1", "params": [3]}, reason="remove order 3")
        self.assertEqual(held.status, "pending")
        self.cs.cancel(held.id)
        rows = self.cs.run(self.db, {"sql": "SELECT count(*)::int FROM orders WHERE id = 3"}, reason="check", raise_on=countersign.ALL_OUTCOMES)
        self.assertEqual(rows.result["results"][0]["rows"], [[1]])


if __name__ == "__main__":
    unittest.main()

