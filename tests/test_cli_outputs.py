"""Reports are truthful where they land (issue 7, items 6 and 7; issue 11, item 7).

``--output``/``-o`` is checked before any work, replaced atomically and only with
``--force``; a run that ends in exit 2 or 3 leaves a report saying ``passed: false`` and
why; a reader that stops early keeps the verdict's exit code; Ctrl-C is one line; no
password reaches any output, however broken the DSN.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.redact import mask_dsn, redact, scrub, uri_problem

JUNIT_XSD = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))
BROKEN = "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t VALUES (5);"
HEALTHY = "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t DEFAULT VALUES;"
UNREACHABLE = "postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# --- --output: validated first, one overwrite policy, atomic --------------------------


def test_every_file_writing_command_takes_o_and_refuses_to_overwrite_without_force(tmp_path):
    existing = tmp_path / "there"
    existing.write_text("yesterday\n")
    for command in (
        ["check", "--dsn", UNREACHABLE, "-o", str(existing)],
        ["verify-dump", str(tmp_path / "x.dump"), "-o", str(existing)],
        ["init", "--dsn", UNREACHABLE, "-o", str(existing)],
        ["snapshot", "--dsn", UNREACHABLE, "-o", str(existing)],
    ):
        result = run(*command)
        assert result.exit_code == 2, (command, result.stderr)
        assert (
            result.stderr
            == f"restoregate: -o {existing} exists (hint: pass --force to replace it)\n".replace(
                "-o", "--output" if command[0] in ("check", "verify-dump") else "-o", 1
            )
        )
        assert existing.read_text() == "yesterday\n", "nothing was touched"


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("missing-dir/report.json", "does not exist"),
        ("/dev/null", "is not a regular file"),
    ],
)
def test_output_is_validated_before_connecting(tmp_path, where, says):
    target = where if where.startswith("/") else str(tmp_path / where)
    started = time.monotonic()
    result = run("check", "--dsn", UNREACHABLE, "--output", target, "--force")
    assert result.exit_code == 2
    assert says in result.stderr and "cannot connect" not in result.stderr
    assert time.monotonic() - started < 2, "refused before the connection was tried"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_is_refused_first(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run("check", "--dsn", UNREACHABLE, "--output", str(locked / "r.json"))
    assert result.exit_code == 2 and "cannot create a file" in result.stderr


def test_a_passing_report_is_replaced_atomically_with_force(db, tmp_path):
    db.execute(HEALTHY)
    out = tmp_path / "gate.json"
    first = run("check", "--dsn", db.dsn, "-o", str(out), "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert first.stderr.startswith("GATE OPEN") and first.stderr.count("\n") == 1
    out.chmod(0o640)
    again = run("check", "--dsn", db.dsn, "-o", str(out), "--format", "json", "--force")
    assert again.exit_code == 0
    assert json.loads(out.read_text())["passed"] is True
    assert out.stat().st_mode & 0o777 == 0o640, "a replaced file keeps its permissions"
    assert leftovers(tmp_path) == [], "no temporary file is left behind"


@pytest.mark.parametrize("fmt", ["json", "junit", "markdown", "text"])
def test_a_run_that_cannot_connect_replaces_yesterdays_pass(db, tmp_path, fmt):
    db.execute(HEALTHY)
    out = tmp_path / f"gate.{fmt}"
    assert run("check", "--dsn", db.dsn, "-o", str(out), "--format", fmt).exit_code == 0
    result = run("check", "--dsn", UNREACHABLE, "-o", str(out), "--format", fmt, "--force")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "cannot connect" in result.stderr
    text = out.read_text()
    assert "cannot connect" in text and "GATE OPEN" not in text
    if fmt == "json":
        report = json.loads(text)
        assert report["passed"] is False
        assert report["error"]["exit_code"] == 3
        assert report["database"]["dsn"] == "postgresql://nobody@127.0.0.1:9/nowhere"
    if fmt == "junit":
        JUNIT_XSD.validate(text)
        assert ET.fromstring(text).find("testsuite/testcase/error") is not None
    assert leftovers(tmp_path) == []


def test_a_rules_error_leaves_a_report_that_says_why(db, tmp_path):
    db.execute(HEALTHY)
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - {id: s, check: sequnces}\n")
    out = tmp_path / "gate.json"
    out.write_text('{"passed": true}\n')
    result = run(
        "check",
        "--dsn",
        db.dsn,
        "--rules",
        str(rules),
        "-o",
        str(out),
        "--force",
        "--format",
        "json",
    )
    assert result.exit_code == 2
    report = json.loads(out.read_text())
    assert report["passed"] is False and report["error"]["exit_code"] == 2
    assert f"{rules}:3:" in report["error"]["message"]
    assert "did you mean" in report["error"]["message"]


def test_verify_dump_failure_report_has_a_stable_suite_name(tmp_path):
    out = tmp_path / "gate.xml"
    junk = tmp_path / "nightly.dump"
    junk.write_bytes(b"\x00\x01 not a dump")
    result = run("verify-dump", str(junk), "--format", "junit", "-o", str(out))
    assert result.exit_code in (2, 3), result.stderr
    JUNIT_XSD.validate(out.read_text())
    suite = ET.fromstring(out.read_text()).find("testsuite")
    assert suite is not None and suite.attrib["name"] == "restoregate verify-dump nightly.dump"


def test_init_and_snapshot_write_atomically_and_replace_with_force(db, tmp_path):
    db.execute(HEALTHY)
    rules, manifest = tmp_path / "rules.yaml", tmp_path / "m.json"
    for path in (rules, manifest):
        path.write_text("old\n")
    assert run("init", "--dsn", db.dsn, "-o", str(rules), "--force").exit_code == 0
    assert run("snapshot", "--dsn", db.dsn, "-o", str(manifest), "--force").exit_code == 0
    assert "version: 1" in rules.read_text()
    assert json.loads(manifest.read_text())["manifest_version"]
    assert leftovers(tmp_path) == []


# --- a reader that stops early, a closed stdout, Ctrl-C --------------------------------


def _gate(*args: str, **popen) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "restoregate", *args], text=True, stderr=subprocess.PIPE, **popen
    )


@pytest.mark.parametrize(("script", "verdict"), [(HEALTHY, 0), (BROKEN, 1)])
def test_a_reader_that_stops_early_keeps_the_verdicts_exit_code(db, script, verdict):
    db.execute(script)
    # | head -c0: the reader is gone before the report is written
    read, write = os.pipe()
    os.close(read)
    proc = _gate("check", "--dsn", db.dsn, "--format", "json", stdout=write)
    os.close(write)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (verdict, "")


def test_head_on_a_long_report_ends_quietly(db):
    db.execute(BROKEN)
    db.execute("CREATE TABLE u (id serial PRIMARY KEY); INSERT INTO u VALUES (99);")
    shell = f"{sys.executable} -m restoregate check --dsn '{db.dsn}' | head -1"
    done = subprocess.run(
        ["bash", "-c", shell + "; echo ${PIPESTATUS[0]} >&2"], capture_output=True, text=True
    )
    assert done.stdout.startswith("restoregate ")
    assert done.stderr.strip() == "1", done.stderr


def test_a_closed_stdout_keeps_the_verdicts_exit_code(db):
    db.execute(BROKEN)
    closed = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m restoregate check --dsn '{db.dsn}' >&-"],
        capture_output=True,
        text=True,
    )
    assert (closed.returncode, closed.stderr) == (1, "")


def test_ctrl_c_while_connecting_is_one_line():
    with socket.socket() as silent:  # accepts TCP, never answers: libpq waits
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        dsn = f"postgresql://u@127.0.0.1:{silent.getsockname()[1]}/db?connect_timeout=30"
        proc = _gate("check", "--dsn", dsn, stdout=subprocess.PIPE)
        silent.settimeout(30)
        connection, _ = silent.accept()  # restoregate is connecting now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        connection.close()
    assert (proc.returncode, out, err) == (
        3,
        "",
        "restoregate: interrupted: nothing was proven safe\n",
    )


def test_ctrl_c_at_any_moment_of_start_up_never_shows_restoregates_traceback():
    """Only the interpreter's own first moments (before any restoregate code) are Python's."""
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6):
        proc = _gate("check", "--dsn", UNREACHABLE, stdout=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        if "restoregate: " in err or "restoregate/" in err:
            # 3, or killed by the signal itself once its one line was out and it was exiting
            assert proc.returncode in (3, -signal.SIGINT) and out == "", (delay, err)
            assert "Traceback" not in err, (delay, err)
            assert err.count("\n") == 1, (delay, err)


@pytest.mark.parametrize("where", ["group", "command"])
def test_ctrl_c_while_the_command_line_is_parsed_is_one_line(monkeypatch, capsys, where):
    """Click answers Ctrl-C during its own parsing with a blank line before anything;
    restoregate's line must stay the only one, whichever command line is being read
    (the start-up test above meets this moment only by chance)."""
    import click

    parse = click.Command.parse_args  # a group's own parse_args ends in this one too

    def interrupted(self, ctx, args):
        if (where == "group") == isinstance(self, click.Group):
            raise KeyboardInterrupt
        return parse(self, ctx, args)

    monkeypatch.setattr(click.Command, "parse_args", interrupted)
    with pytest.raises(SystemExit) as ended:
        cli.main(["check", "--dsn", UNREACHABLE], prog_name="restoregate")
    captured = capsys.readouterr()
    assert ended.value.code == 3
    assert captured.err == "restoregate: interrupted: nothing was proven safe\n"
    assert captured.out == ""


# --- no secret in any output ----------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "secret", "code"),
    [
        ("postgresql://u:pa%zzQx7k@127.0.0.1:9/db", "zzQx7k", 2),
        ("postgresql://u:pa/Qx7k9@127.0.0.1:9/db", "Qx7k9", 2),
        ("postgresql://u:p@Qx7k9@127.0.0.1:9/db", "Qx7k9", 2),
        ("postgresql://u:pa?Qx7k9@127.0.0.1:9/db", "Qx7k9", 2),
        ("postgresql://u:hunter2pw@127.0.0.1:9/db?connect_timeout=2", "hunter2pw", 3),
        ("host=127.0.0.1 port=9 password=se Qx7k9", "Qx7k9", 2),
        ("host=127.0.0.1 port=9 password='unterminated Qx7k9", "Qx7k9", 2),
        ("host=127.0.0.1 port=9 connect_timeout=2 password=hunter2pw", "hunter2pw", 3),
        ("postgresql://u@127.0.0.1:9/db?password=x%zzQx7k9", "Qx7k9", 2),
    ],
)
def test_no_password_in_errors_or_reports(tmp_path, dsn, secret, code):
    out = tmp_path / "gate.json"
    result = run("check", "--dsn", dsn, "--format", "json", "-o", str(out))
    assert result.exit_code == code, result.stderr
    assert result.stderr.count("\n") == 1
    for text in (result.stdout, result.stderr, out.read_text()):
        assert secret not in text and secret[:3] not in text, text


def test_masking_rules():
    assert mask_dsn("postgresql://u:pa%zz@h/db") == "postgresql://u:***@h/db"
    assert mask_dsn("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db"
    assert mask_dsn("mysql://root:pw@h:3306/db") == "mysql://root:***@h:3306/db"
    assert mask_dsn("host=h password='a b' dbname=x") == "host=h password=*** dbname=x"
    assert mask_dsn("postgresql://u@h/db?application_name=a@b") == (
        "postgresql://u@h/db?application_name=a@b"
    ), "an @ in the query is no password"
    assert uri_problem("postgresql://u:p%40ss@h/db") is None, "encoded is fine"
    assert uri_problem("postgresql://u:p@ss@h/db") is not None
    assert redact('invalid integer value "pa" for option "port"', "postgresql://u:pa/ss@h") == (
        'invalid integer value "***" for option "port"'
    )
    assert scrub("Error('postgresql://a:b/c@d/e', password=zz)") == (
        "Error('postgresql://a:***@d/e', password=***"
    ), "a password= value runs to the next space"


def test_a_gate_keeps_its_junit_suite_name_whether_it_passes_or_cannot_run(db, tmp_path):
    db.execute(HEALTHY)
    out = tmp_path / "gate.xml"
    names = []
    for extra in ([], ["--only", "nosuch"]):
        run("check", "--dsn", db.dsn, "--format", "junit", "-o", str(out), "--force", *extra)
        suite = ET.fromstring(out.read_text()).find("testsuite")
        assert suite is not None
        names.append(suite.attrib["name"])
    assert names[0] == names[1], "CI systems follow a suite's history by its name"
