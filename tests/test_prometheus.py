"""--format prometheus: a node_exporter textfile that makes "failed" and "did not run" alertable."""

from __future__ import annotations

import io
import os
import re
import threading
import time

from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.report import Report, RuleResult
from restoregate.report.prometheus import render

# the text exposition format: HELP/TYPE comments, then name{labels} value
SAMPLE = re.compile(r'^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$')


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def parse(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE.match(line)
        assert match, f"not exposition format: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def _report(*rules: RuleResult) -> Report:
    return Report("0.1.0", "postgresql:///x", "18.1", "2026-12-01T06:40:06Z", 1.5, list(rules))


def test_a_closed_gate_names_the_failing_rule():
    weird = 'odd "id"\\\nnext'
    report = _report(
        RuleResult("sequences", "sequences", "error", "fail", "1 sequence is behind"),
        RuleResult(weird, "sql", "warn", "pass", "ok"),
    )
    out = io.StringIO()
    render(report, out)
    samples = parse(out.getvalue())
    assert samples["restoregate_gate_open"] == 0
    assert samples["restoregate_exit_code"] == 1
    assert samples["restoregate_last_run_timestamp_seconds"] == 1796107206
    assert samples["restoregate_duration_seconds"] == 1.5
    failing = 'restoregate_rule_status{rule="sequences",check="sequences",severity="error",'
    assert samples[failing + 'status="fail"}'] == 1
    assert samples[failing + 'status="pass"}'] == 0
    escaped = 'rule="odd \\"id\\"\\\\\\nnext"'
    assert (
        samples[f'restoregate_rule_status{{{escaped},check="sql",severity="warn",status="pass"}}']
        == 1
    )
    assert samples['restoregate_rules{status="fail"}'] == 1


def test_check_writes_the_textfile_atomically(db, tmp_path):
    db.execute(
        "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 5);"
    )
    target = tmp_path / "restoregate.prom"
    target.write_text("restoregate_gate_open 1\n")
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # what node_exporter would read at any moment
        while not stop.is_set():
            seen.append(target.read_text())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        args = ("--format", "prometheus", "--output", str(target), "--force")  # nightly: replace
        result = run("check", "--dsn", db.dsn, *args)
    finally:
        stop.set()
        watcher.join()
    assert result.exit_code == 0, result.output
    samples = parse(target.read_text())
    assert samples["restoregate_gate_open"] == 1
    assert abs(samples["restoregate_last_run_timestamp_seconds"] - time.time()) < 120
    assert all(
        text == "restoregate_gate_open 1\n" or "restoregate_rule_status" in text for text in seen
    )
    assert sorted(os.listdir(tmp_path)) == ["restoregate.prom"], "no temporary file left behind"


def test_a_run_that_could_not_check_still_updates_the_textfile(tmp_path):
    target = tmp_path / "restoregate.prom"
    result = run(
        "check",
        "--dsn",
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
        "--format",
        "prometheus",
        "--output",
        str(target),
    )
    assert result.exit_code == 3
    samples = parse(target.read_text())
    assert samples["restoregate_gate_open"] == 0
    assert samples["restoregate_exit_code"] == 3
    assert abs(samples["restoregate_last_run_timestamp_seconds"] - time.time()) < 120
