"""The JSON report keeps the contract's shape; renderers only see a Report."""

from __future__ import annotations

import io
import json

from restoregate.checks.references import Orphans
from restoregate.checks.sequences import SequenceBehind
from restoregate.report import Report, RuleResult, Unchecked
from restoregate.report.formats import render


def sample_report() -> Report:
    behind = SequenceBehind(
        sequence="public.accounts_id_seq",
        column="public.accounts.id",
        next_value=201,
        max_value=306,
        max_source="public.journals.user_id",
        direction="ascending",
        inserts_at_risk=106,
    )
    orphans = Orphans(
        declared=False,
        reference="public.journals(user_id) -> public.accounts(id)",
        constraint=None,
        orphans=106,
        reassignable=106,
        parent_sequence="public.accounts_id_seq",
        sample=[[201], [202], [203]],
        constraint_state=[],
    )
    return Report(
        tool_version="0.1.0",
        dsn="postgresql://app@db.internal:5432/prod",
        server_version="18.1",
        started_at="2026-05-08T09:12:03Z",
        duration_s=1.84,
        rules=[
            RuleResult(
                "sequences",
                "sequences",
                "error",
                "fail",
                "1 sequence is behind",
                violations=[behind],
                unchecked=[Unchecked("public.inv.code", "text")],
            ),
            RuleResult(
                "references",
                "references",
                "error",
                "fail",
                "106 orphaned rows",
                violations=[orphans],
            ),
            RuleResult("extra", "references", "warn", "skip", "skipped"),
        ],
        engine="postgresql",
    )


def test_json_matches_the_contract():
    out = io.StringIO()
    render(sample_report(), "json", out)
    doc = json.loads(out.getvalue())
    assert doc["schema_version"] == 1
    assert doc["tool"] == {"name": "restoregate", "version": "0.1.0"}
    assert doc["database"] == {
        "dsn": "postgresql://app@db.internal:5432/prod",
        "server_version": "18.1",
        "engine": "postgresql",
        "consistency": "snapshot",  # every result from one snapshot (else "per-batch")
    }
    assert doc["passed"] is False
    assert doc["summary"] == {"rules": 3, "pass": 0, "fail": 2, "warn": 0, "error": 0, "skip": 1}
    seq = doc["rules"][0]["violations"][0]
    assert {
        k: seq[k] for k in ("kind", "sequence", "column", "next_value", "max_value", "max_source")
    } == {
        "kind": "sequence_behind",
        "sequence": "public.accounts_id_seq",
        "column": "public.accounts.id",
        "next_value": 201,
        "max_value": 306,
        "max_source": "public.journals.user_id",
    }
    ref = doc["rules"][1]["violations"][0]
    assert ref["kind"] == "orphans" and ref["declared"] is False
    assert (ref["orphans"], ref["reassignable"], ref["sample"]) == (106, 106, [[201], [202], [203]])
    assert doc["rules"][0]["unchecked"] == [{"subject": "public.inv.code", "reason": "text"}]


def test_exit_codes_follow_statuses():
    report = sample_report()
    assert report.exit_code == 1
    report.rules[1].status = "error"
    assert report.exit_code == 3, "an incomplete run outranks a failure"
    for r in report.rules:
        r.status = "warn"
    assert (report.passed, report.exit_code) == (True, 0)


def test_text_report_has_no_markup_leaks_or_trailing_spaces():
    report = sample_report()
    report.rules[0].message = "[bold]not markup[/bold]"
    out = io.StringIO()
    render(report, "text", out)
    text = out.getvalue()
    assert "[bold]not markup[/bold]" in text
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "GATE CLOSED: 2 of 2 rules failed. Do not go live." in text
    assert text.rstrip().splitlines()[-1] == (
        "Next: `restoregate fix` writes a plan for what can be fixed; it changes nothing."
    )
    assert "public.journals.user_id already holds 306" in text
