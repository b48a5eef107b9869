"""The demo explains the report it got, fits 100 columns, and ends on the exit code."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from restoregate.demo import _closing, _explain
from restoregate.report import Report, RuleResult


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, force_terminal=False), out


def test_the_demo_explains_what_it_found_and_exits_1():
    proc = subprocess.run(
        [sys.executable, "-m", "restoregate", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)
    text = " ".join(proc.stdout.split())
    assert "2 of 6 rules failed (sequences, references)" in text
    assert "would hand out 201 next, but public.journals.user_id already holds 306" in text
    assert "106 rows of public.journals(user_id)" in text
    assert lines[-1].startswith("exit 1: the gate did its job.")


def test_the_explanation_follows_the_report_not_a_script():
    console, out = _console()
    report = Report("0.1.0", "x", "18", "2026-12-01T06:40:06Z", 0.1, [])
    report.rules.append(RuleResult("sequences", "sequences", "error", "pass", "ok"))
    _explain(console, report, report.exit_code)
    said = out.getvalue()
    assert "did its job" not in said and "What this means" not in said
    assert "exit 0: the gate opened on a broken restore" in _closing(report.exit_code)
    assert "did its job" in _closing(1)


def test_a_kept_demo_server_says_how_to_stop_it():
    proc = subprocess.run(
        [sys.executable, "-m", "restoregate", "demo", "--keep"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = re.search(r"head -1 (/\S+/postmaster\.pid)", proc.stdout)
    assert found, proc.stdout[-500:]
    pid_file = Path(found.group(1))
    pid = int(pid_file.read_text().split()[0])
    try:
        assert proc.returncode == 1, proc.stderr
        match = re.search(r"^stop it with: (.+)$", proc.stdout, re.M)
        assert match, proc.stdout[-500:]
        subprocess.run(["sh", "-c", match.group(1)], check=True, timeout=60)
        assert _gone(pid), "the printed command did not stop the server"
        assert not pid_file.parent.exists(), "the printed command did not remove its files"
    finally:
        if not _gone(pid, wait=0):
            os.kill(pid, signal.SIGQUIT)


def _gone(pid: int, wait: float = 30) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
