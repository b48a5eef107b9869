"""Names and data cannot forge a report, in any format (issue 7, item 8).

Object names, keys and database messages come from the restored database and rule ids
from a rules file in a pull request: both untrusted. Whatever they hold (newlines,
ANSI escapes, rich markup, HTML, Markdown, characters XML 1.0 forbids, workflow
commands), every format keeps them inert: the verdict is the only line that says GATE,
JUnit stays valid against Jenkins' junit-10.xsd, JSON reads back the exact values.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restoregate.checks.references import Orphans
from restoregate.checks.sql import Rows
from restoregate.checks.unique import Duplicates
from restoregate.report import Report, RuleResult, Unchecked, Violation
from restoregate.report.escape import markdown_text, printable
from restoregate.report.formats import render
from restoregate.report.github import annotate
from restoregate.report.literals import sql_literal, sql_row
from restoregate.report.text import verdict

JUNIT_XSD = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))
FAKE = "GATE OPEN: all 3 rules passed."
NASTY = [
    f"x\n{FAKE}",
    f"\r\n{FAKE}\n",
    "\x1b[2J\x1b[32mgreen\x1b[0m",
    "\x9b31m",  # C1 CSI
    "[bold]markup[/bold] [link=https://evil]x[/link]",
    "<img src=x onerror=alert(1)></details><script>",
    "# heading\n- item\n| cell | cell |",
    "`code` *em* _em_ [link](https://evil) $math$ ~~del~~ @someone",
    "\x00\x01\x08\x0b\x0c\x7f\ufffe\uffff",
    "\u202egnp.exe",  # bidi override
    "\u2028line\u2029para",
    "\n::error title=forged::all good\n::add-mask::x",
    "%0A::warning::forged",
    "]]></failure><testcase name='forged'/>",
    "&amp; &lt;",
]
texts = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
    st.text(st.sampled_from("\n\r\t\x1b\x00\x85[]<>&|`*_#$:%\\'\"GATE OPEN"), max_size=30),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.decimals(allow_nan=False, places=2),
    texts,
    st.datetimes(timezones=st.just(timezone.utc)),
)


@dataclass(frozen=True)
class Raw(Violation):
    """A finding whose sentence is the hostile text itself."""

    kind: ClassVar[str] = "raw"
    text: str

    def describe(self) -> str:
        return self.text


def hostile_report(name: str, value: Any, rule_id: str, message: str) -> Report:
    orphans = Orphans(
        declared=True,
        reference=f"public.{name}(id) -> public.{name}(id)",
        constraint=name,
        orphans=3,
        reassignable=1,
        parent_sequence=f"public.{name}_seq",
        sample=[[value], [value, name]],
        constraint_state=["not validated"],
    )
    rows = Rows(rows=2, max_rows=0, columns=[name], sample=[{name: value}])
    dupes = Duplicates(
        table=name, columns=[name], groups=1, rows=2, sample=[{"key": [value], "rows": 2}]
    )
    return Report(
        tool_version="0.1.0",
        dsn=f"postgresql://app@db/{name}",
        server_version="18.1",
        started_at="2026-05-08T09:12:03Z",
        duration_s=0.5,
        rules=[
            RuleResult(rule_id, "references", "error", "fail", message, violations=[orphans]),
            RuleResult("sql", "sql", "error", "fail", name, violations=[rows, dupes, Raw(name)]),
            RuleResult(
                "warned",
                "sequences",
                "warn",
                "warn",
                message,
                advisories=[Raw(name)],
                unchecked=[Unchecked(name, message)],
            ),
            RuleResult("broken", "catalog", "error", "error", message, hint=name),
            RuleResult(name or "x", "unique", "error", "skip", "skipped"),
        ],
    )


def visible(text: str) -> bool:
    """No character that moves the cursor, breaks a line or hides itself, bar newlines."""
    hidden = {"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"}
    return all(c == "\n" or unicodedata.category(c) not in hidden for c in text)


def rendered(report: Report, fmt: str, color: bool = False) -> str:
    out = io.StringIO()
    render(report, fmt, out, color=color)
    return out.getvalue()


def assert_single_verdict(text: str, report: Report) -> None:
    """Only the real verdict starts a line with GATE, and it is the last line."""
    lines = text.rstrip("\n").split("\n")
    starts = [line for line in lines if line.startswith("GATE")]
    assert starts == [verdict(report)], starts
    assert lines[-1] == verdict(report)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    report_multiple_bugs=False,
)
@given(name=texts, value=values, rule_id=texts.filter(str.strip), message=texts)
def test_no_format_lets_data_forge_a_line_or_break_its_syntax(name, value, rule_id, message):
    report = hostile_report(name, value, rule_id, message)

    for color in (False, True):
        text = rendered(report, "text", color=color)
        if color:  # the only escapes are rich's own styles: SGR sequences
            text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        assert visible(text), repr(text)
        assert_single_verdict(text, report)

    markdown = rendered(report, "markdown")
    assert visible(markdown)
    outside_code = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)  # code spans show HTML as is
    assert "<" not in outside_code
    assert all(">" not in line.removeprefix("> ") for line in outside_code.split("\n"))
    body = markdown.split("\n")
    assert sum(line.startswith("## ") for line in body) == 1
    assert body[0] == f"## ❌ restoregate: {verdict(report)}"
    for line in body[1:]:
        assert not line.startswith(("#", "GATE", "<")) or line.startswith("### "), line
    table = [line for line in body if line.startswith("| ")]
    assert all(len(re.split(r"(?<!\\)\|", line)) == 7 for line in table), table

    junit = rendered(report, "junit")
    JUNIT_XSD.validate(junit)
    root = ET.fromstring(junit)
    assert [c.attrib["name"] for c in root.iter("testcase")] == [
        printable(r.id) for r in report.rules
    ]
    for element in root.iter():
        for part in [element.text or "", *element.attrib.values()]:
            assert visible(part)
            assert not any(line.startswith("GATE") for line in part.split("\n")[1:])

    document = rendered(report, "json")
    assert json.loads(document) == json.loads(json.dumps(report.to_dict()))
    assert visible(document)

    annotations = io.StringIO()
    annotate(report, annotations)
    lines = annotations.getvalue().split("\n")[:-1]
    assert len(lines) == 4, "one line per failed, broken or warning rule"
    assert all(re.match(r"^::(error|warning) title=[^:]*::", line) for line in lines), lines
    assert all(visible(line) for line in lines)


def test_a_table_name_with_a_newline_cannot_print_a_fake_open_gate():
    report = hostile_report(f"t\n{FAKE}", 1, "references", f"bad\n{FAKE}")
    text = rendered(report, "text")
    assert FAKE not in text.splitlines()
    assert "t\\nGATE OPEN" in text, "the newline is shown, escaped"
    assert text.splitlines()[-1].startswith("GATE CLOSED")
    markdown = rendered(report, "markdown")
    assert not any(line.strip() == FAKE for line in markdown.splitlines())


def test_markup_and_ansi_from_data_reach_no_terminal():
    report = hostile_report("[bold red]t[/]", "\x1b[32mok", "[blink]r", "\x1b]0;title\x07")
    text = rendered(report, "text", color=True)
    assert "[bold red]t[/]" in text and "[blink]r" in text
    assert "\x1b[32mok" not in text and "\x1b]0;" not in text
    assert "\\x1b[32mok" in text


def test_markdown_shows_html_and_markup_as_text():
    assert markdown_text("<b>x</b> & *y* | `z`") == "&lt;b&gt;x&lt;/b&gt; &amp; \\*y\\* \\| \\`z\\`"
    assert markdown_text("# not a heading") == "\\# not a heading"
    assert markdown_text("1. not a list") == "1\\. not a list"
    assert markdown_text("a\nb") == "a\\\\nb"


def test_junit_root_carries_only_what_junit_10_allows_and_suite_names_are_stable():
    report = hostile_report("t", 1, "r", "m")
    report.dsn = "postgresql://postgres@/restored?host=/tmp/restoregate-pg-x1y2z3"
    report.subject = "verify-dump nightly.dump"
    root = ET.fromstring(rendered(report, "junit"))
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}
    [suite] = root.iter("testsuite")
    assert suite.attrib["name"] == "restoregate verify-dump nightly.dump"
    assert len(list(root.iter("testcase"))) == len(report.rules), "one row per rule"


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown"])
def test_a_run_that_could_not_judge_reports_passed_false_and_why(fmt):
    report = Report.failed("0.1.0", 2, "rules.yaml:3:5: unknown check 'sequnces'", dsn="d")
    assert (report.passed, report.exit_code) == (False, 2)
    text = rendered(report, fmt)
    assert "unknown check" in text
    if fmt == "json":
        document = json.loads(text)
        assert document["passed"] is False and document["error"]["exit_code"] == 2
    if fmt == "junit":
        JUNIT_XSD.validate(text)
        [case] = ET.fromstring(text).iter("testcase")
        assert case.find("error") is not None
    if fmt == "text":
        assert text.splitlines()[-1].startswith("GATE CLOSED")


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (1, "1"),
        (-7, "-7"),
        (1.5, "1.5"),
        (Decimal("1.50"), "1.50"),
        (Decimal("NaN"), "'NaN'"),
        (float("inf"), "'Infinity'"),
        ("a'b", "'a''b'"),
        (None, "NULL"),
        (True, "TRUE"),
        (datetime(2026, 1, 1, tzinfo=timezone.utc), "'2026-01-01 00:00:00+00'"),
        (
            datetime(2026, 1, 1, 6, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "'2026-01-01 06:30:00+05:30'",
        ),
        (date(2026, 1, 1), "'2026-01-01'"),
        (timedelta(days=1, hours=2), "'1 day 02:00:00'"),
        (b"\x00\xff", "'\\x00ff'"),
        ({"id": 1}, "'{\"id\": 1}'"),
        ([1, "a"], "ARRAY[1, 'a']"),
        ("line\nbreak", "E'line\\nbreak'"),
        ("C:\\dir", "E'C:\\\\dir'"),
        ("\x1b[31m", "E'\\x1b[31m'"),
    ],
)
def test_values_are_sql_literals(value, literal):
    assert sql_literal(value) == literal


def test_findings_show_sql_literals_never_python_reprs():
    rows = Rows(
        rows=1,
        max_rows=0,
        columns=["id", "total"],
        sample=[{"id": 1, "total": Decimal("1.5"), "Note": "it's"}],
    )
    assert rows.describe().endswith("first id = 1, total = 1.5, \"Note\" = 'it''s'")
    dupes = Duplicates(
        table="public.u",
        columns=["email"],
        groups=1,
        rows=2,
        sample=[{"key": ["a@x"], "rows": 2}, {"key": [None], "rows": 2}],
    )
    assert "e.g. 'a@x' (2 rows), NULL (2 rows)" in dupes.describe()
    for text in (rows.describe(), dupes.describe()):
        assert "Decimal(" not in text and "{'" not in text
    assert sql_row({"a b": None}) == '"a b" = NULL'


def test_a_rule_id_with_markup_does_not_break_the_progress_line():
    from rich.console import Console

    from restoregate.report.progress import TerminalProgress
    from restoregate.rules.loader import load_rules_text

    [rule] = load_rules_text(
        'version: 1\nrules:\n  - {id: "[/]\\e[31m[bold]", check: sequences}\n', "r.yaml"
    ).rules
    out = io.StringIO()
    with TerminalProgress(Console(file=out, force_terminal=True)) as progress:
        progress.rule_started(rule)
    assert "\x1b[31m" not in out.getvalue()
