"""Audit exports through the gateway: only a human with the auditor role gets a bundle or an evidence report."""

from __future__ import annotations

import datetime
import io
import json
import tarfile
import unittest
from typing import Dict

import gateway_env

import countersign

ENV: Dict[str, str] = {}
FROM = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
TO = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()


def setUpModule() -> None:
    ENV.update(gateway_env.require())


class AuditExportTest(unittest.TestCase):
    def test_the_auditor_gets_a_bundle_that_holds_the_log_and_no_secret(self) -> None:
        auditor = countersign.Client(key=ENV["COUNTERSIGN_TEST_AUDITOR_KEY"])
        data = auditor.audit_export(from_=1)
        with tarfile.open(fileobj=io.BytesIO(data)) as bundle:
            names = set(bundle.getnames())
            self.assertTrue({"manifest.json", "events.jsonl", "keys.txt"} <= names, names)
            manifest = json.loads(bundle.extractfile("manifest.json").read())  # type: ignore[union-attr]
        self.assertEqual((manifest["format"], manifest["events"]["first"]), ("countersign-audit-bundle/1", 1))
        for secret in (ENV["COUNTERSIGN_TEST_UPSTREAM_SECRET"], ENV["COUNTERSIGN_KEY"], ENV["COUNTERSIGN_TEST_AUDITOR_KEY"]):
            self.assertNotIn(secret.encode(), data)
        report = auditor.evidence_report(FROM, TO, "soc2")
        self.assertEqual((report["format"], report["framework"]), ("countersign-evidence/1", "soc2"))

    def test_a_human_without_the_role_gets_role_required(self) -> None:
        approver = countersign.Client(key=ENV["COUNTERSIGN_TEST_APPROVER_KEY"])
        with self.assertRaises(countersign.RoleRequired) as bundle:
            approver.audit_export()
        self.assertEqual(bundle.exception.status, 403)
        with self.assertRaises(countersign.RoleRequired):
            approver.evidence_report(FROM, TO, "soc2")

    def test_an_agent_gets_neither(self) -> None:
        agent = countersign.Client()  # COUNTERSIGN_KEY: an agent acting for a human
        for fetch in (lambda: agent.audit_export(), lambda: agent.evidence_report(FROM, TO, "gdpr")):
            with self.assertRaises(countersign.CountersignError) as refused:
                fetch()
            self.assertEqual(refused.exception.status, 403)
            self.assertIn(refused.exception.code, ("ROLE_REQUIRED", "FORBIDDEN"))

    def test_a_bad_period_is_an_invalid_request(self) -> None:
        auditor = countersign.Client(key=ENV["COUNTERSIGN_TEST_AUDITOR_KEY"])
        with self.assertRaises(countersign.InvalidRequest):
            auditor.audit_export(from_="last tuesday")
