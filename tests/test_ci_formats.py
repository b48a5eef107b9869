"""CI output: JUnit XML that CI systems load, Markdown summaries, GitHub annotations."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.report.formats import render
from tests.test_report import sample_report

# What Jenkins' junit plugin, GitLab and GitHub test reporters require (the common core
# of the JUnit XSD): element names, required attributes, and integer/decimal types.
REQUIRED = {
    "testsuites": {"tests", "failures", "errors"},
    "testsuite": {"name", "tests", "failures", "errors", "skipped", "time", "timestamp"},
    "testcase": {"name", "classname", "time"},
    "failure": {"message", "type"},
    "error": {"message", "type"},
    "skipped": {"message"},
    "property": {"name", "value"},
}
CHILDREN = {
    "testsuites": {"testsuite"},
    "testsuite": {"properties", "testcase", "system-out", "system-err"},
    "properties": {"property"},
    "testcase": {"failure", "error", "skipped", "system-out", "system-err"},
}


def validate_junit(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    for element in root.iter():
        missing = REQUIRED.get(element.tag, set()) - set(element.attrib)
        assert not missing, f"<{element.tag}> lacks {missing}"
        for child in element:
            assert child.tag in CHILDREN.get(element.tag, set()), (
                f"<{child.tag}> in <{element.tag}>"
            )
        for name in ("tests", "failures", "errors", "skipped"):
            if name in element.attrib:
                assert int(element.attrib[name]) >= 0
        if "time" in element.attrib:
            assert float(element.attrib["time"]) >= 0
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.attrib["tests"]) == len(cases)
        assert int(suite.attrib["failures"]) == sum(
            1 for c in cases if c.find("failure") is not None
        )
        assert int(suite.attrib["errors"]) == sum(1 for c in cases if c.find("error") is not None)
        assert int(suite.attrib["skipped"]) == sum(
            1 for c in cases if c.find("skipped") is not None
        )
    return root


def test_junit_has_one_testcase_per_rule_with_violations():
    report = sample_report()
    report.rules[1].message = 'orphans & <things> "quoted"'
    out = io.StringIO()
    render(report, "junit", out)
    root = validate_junit(out.getvalue())
    cases = {c.attrib["name"]: c for c in root.iter("testcase")}
    assert list(cases) == ["sequences", "references", "extra"]
    failure = cases["sequences"].find("failure")
    assert failure is not None and failure.attrib["type"] == "sequence_behind"
    assert "public.journals.user_id already holds 306" in (failure.text or "")
    assert cases["references"].find("failure").attrib["message"] == 'orphans & <things> "quoted"'
    assert cases["extra"].find("skipped") is not None


def test_markdown_summary():
    out = io.StringIO()
    render(sample_report(), "markdown", out)
    text = out.getvalue()
    assert text.startswith("## ❌ restoregate: GATE CLOSED")
    assert "| ❌ | `sequences` | sequences | error | 1 sequence is behind |" in text
    assert "- public.accounts\\_id\\_seq will hand out 201 next" in text


def test_junit_and_annotations_from_the_cli(db, tmp_path):
    db.execute("""
        CREATE TABLE t (id serial PRIMARY KEY);
        INSERT INTO t VALUES (5);
    """)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["check", "--dsn", db.dsn, "--format", "junit"], env={"GITHUB_ACTIONS": "true"}
    )
    assert result.exit_code == 1
    validate_junit(result.stdout)
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("::error")]
    assert line.startswith("::error title=restoregate%3A rule sequences (fail)::")
    assert "%0A" in line, "multi-line messages are escaped onto one line"
    quiet = runner.invoke(cli, ["check", "--dsn", db.dsn], env={"GITHUB_ACTIONS": ""})
    assert "::error" not in quiet.output
    out = tmp_path / "summary.md"
    result = runner.invoke(
        cli, ["check", "--dsn", db.dsn, "--format", "markdown", "--output", str(out)]
    )
    assert result.exit_code == 1 and out.read_text().startswith("## ❌")


def test_job_summary_in_github_actions(db, tmp_path):
    db.execute("CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t VALUES (5);")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = CliRunner().invoke(cli, ["check", "--dsn", db.dsn, "--format", "json"], env=env)
    assert result.exit_code == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n## ❌ restoregate: GATE CLOSED")


def test_the_action_declares_its_inputs():
    from pathlib import Path

    import yaml

    action = yaml.safe_load((Path(__file__).parents[1] / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"dsn", "dump", "rules", "baseline", "format"} <= set(action["inputs"])
    step = action["runs"]["steps"][-1]["run"]
    assert "${{" not in step, "inputs reach the script through env, never inline"
    script = (Path(__file__).parents[1] / "action" / "gate.sh").read_text()
    assert "verify-dump" in script and " check)" in script
