"""``@countersign.guard`` against a real gateway: a tool's action allowed, held and approved, denied."""

from __future__ import annotations

import asyncio
import inspect
import unittest
from typing import Any, Dict, List

import gateway_env
from gateway_env import Beside

import countersign

ENV: Dict[str, str] = {}
HTTP = ""
SQL = ""


def setUpModule() -> None:
    global HTTP, SQL
    ENV.update(gateway_env.require())
    HTTP, SQL = ENV["COUNTERSIGN_TEST_HTTP"], ENV["COUNTERSIGN_TEST_SQL"]


def approve_as_human(pending: countersign.Request) -> countersign.Request:
    """A human approves with the client too: their own key, bound to the digest they read."""
    human = countersign.Client(key=ENV["COUNTERSIGN_TEST_APPROVER_KEY"])
    seen = human.get(pending.id)
    assert seen.status == "pending" and seen.reviewable is not None and seen.reviewable.reviewable, seen
    return human.review(seen.id, "approve", comment="fine", digest=seen.digest)


class GuardTest(unittest.TestCase):
    def test_an_allowed_tool_call_returns_the_gateways_result(self) -> None:
        @countersign.guard(connection=HTTP)
        def list_invoices(limit: int = 10) -> Dict[str, Any]:
            """List the latest invoices."""
            return {"method": "GET", "path": "/invoices", "query": {"limit": str(limit)}}

        result = list_invoices(limit=3)
        self.assertEqual(result["status"], 200)
        self.assertEqual(result["body"]["echo"], "GET /api/invoices?limit=3")
        self.assertIs(result["body"]["authorized"], True)
        self.assertNotIn(ENV["COUNTERSIGN_TEST_UPSTREAM_SECRET"], repr(result))

    def test_a_held_tool_call_waits_for_the_human_and_returns_the_result(self) -> None:
        human = Beside(approve_as_human)
        pending: List[countersign.Request] = []

        def told(r: countersign.Request) -> None:
            pending.append(r)
            human.start(r)

        @countersign.guard(connection=HTTP, reason=lambda invoice, amount_cents: f"refund {amount_cents} cents on {invoice}", timeout=120, on_pending=told)
        def refund_invoice(invoice: str, amount_cents: int) -> Dict[str, Any]:
            """Refund an invoice to the customer."""
            return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice, "amount": amount_cents}}

        result = refund_invoice("inv_guard_held", 500)
        self.assertEqual(human.result().reviews[0].reviewer, "alice")
        self.assertEqual(result["body"]["echo"], "POST /api/refunds")
        self.assertEqual(result["body"]["body"], {"invoice": "inv_guard_held", "amount": 500})
        self.assertEqual(pending[0].action.reason, "refund 500 cents on inv_guard_held")
        self.assertEqual(pending[0].status, "pending")

    def test_a_denied_tool_call_raises_denied_for_the_framework_to_report(self) -> None:
        @countersign.guard(connection=HTTP)
        def delete_invoice(invoice: str) -> Dict[str, Any]:
            """Delete an invoice."""
            return {"method": "DELETE", "path": f"/invoices/{invoice}"}

        with self.assertRaises(countersign.Denied) as caught:
            delete_invoice("inv_1")
        e = caught.exception
        self.assertEqual((e.code, e.message), ("POLICY_DENIED", "agents never delete invoices"))
        self.assertEqual(e.request.action.reason, "delete_invoice: Delete an invoice.")
        # What LangGraph's ToolNode hands the model: the code and the rule's message, never the key.
        self.assertIn("agents never delete invoices", repr(e))
        self.assertNotIn(ENV["COUNTERSIGN_KEY"], repr(e) + str(e))

    def test_a_guarded_sql_write_runs_once_approved(self) -> None:
        human = Beside(approve_as_human)

        @countersign.guard(connection=SQL, reason="order 7 was a test", timeout=120, on_pending=human.start)
        def void_order(order_id: int) -> Dict[str, Any]:
            return {"sql": "UPDATE orders SET status = 'void' WHERE id = $1", "params": [order_id]}

        result = void_order(7)
        human.result()
        self.assertEqual(result["results"][0]["command"], "UPDATE")
        self.assertEqual(result["results"][0]["rowCount"], 1)

    def test_an_async_tool_waits_without_blocking_the_event_loop(self) -> None:
        async def main() -> Any:
            told: "asyncio.Queue[countersign.Request]" = asyncio.Queue()

            @countersign.guard(connection=HTTP, timeout=90, on_pending=told.put_nowait)
            async def refund_async(invoice: str) -> Dict[str, Any]:
                """Refund an invoice."""
                return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice}}

            async def human() -> countersign.Request:
                # Runs on the same event loop: were the tool's wait blocking it, no approval would come.
                pending = await told.get()
                return await asyncio.to_thread(approve_as_human, pending)

            return await asyncio.gather(refund_async("inv_guard_async"), human())

        result, review = asyncio.run(main())
        self.assertEqual(review.reviews[0].reviewer, "alice")
        self.assertEqual(result["body"]["body"], {"invoice": "inv_guard_async"})

    def test_a_held_call_the_tool_stops_waiting_for_is_withdrawn_so_a_later_approval_runs_nothing(self) -> None:
        human = countersign.Client(key=ENV["COUNTERSIGN_TEST_APPROVER_KEY"])
        for name in ("inv_guard_late", "inv_guard_late_async"):
            pending: List[countersign.Request] = []

            @countersign.guard(connection=HTTP, timeout=1, on_pending=pending.append)
            def refund_late(invoice: str) -> Dict[str, Any]:
                """Refund an invoice."""
                return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice}}

            @countersign.guard(connection=HTTP, timeout=1, on_pending=pending.append)
            async def refund_late_async(invoice: str) -> Dict[str, Any]:
                """Refund an invoice."""
                return {"method": "POST", "path": "/refunds", "body": {"invoice": invoice}}

            with self.assertRaises(countersign.TimedOut):
                if name.endswith("async"):
                    asyncio.run(refund_late_async(name))
                else:
                    refund_late(name)
            # Nobody waits for its result any more (the model was told it timed out): a later approval must not run it.
            self.assertEqual(human.get(pending[0].id).status, "cancelled", name)
            with self.assertRaises(countersign.CountersignError):
                human.review(pending[0].id, "approve")
            self.assertEqual(human.get(pending[0].id).status, "cancelled", name)

    def test_the_guarded_function_keeps_its_name_docstring_and_signature(self) -> None:
        @countersign.guard(connection=HTTP)
        def lookup(invoice: str, verbose: bool = False) -> Dict[str, Any]:
            """Look up an invoice."""
            return {"method": "GET", "path": f"/invoices/{invoice}"}

        self.assertEqual(lookup.__name__, "lookup")
        self.assertEqual(lookup.__doc__, "Look up an invoice.")
        self.assertEqual(list(inspect.signature(lookup).parameters), ["invoice", "verbose"])


if __name__ == "__main__":
    unittest.main()
