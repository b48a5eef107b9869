"""``restoregate fix`` on SQLite files: AUTOINCREMENT counters move in ``sqlite_sequence``;
a plain rowid has nothing to move and the plan says what a person can do instead."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from tests.test_sqlite import LOGICAL, dsn, needs_cli, seed_restore, sha256, shell


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def rules(tmp: Path) -> str:
    path = tmp / "rules.yaml"
    path.write_text(LOGICAL)
    return str(path)


def saved_seq(path: Path) -> int | None:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'accounts'").fetchone()
    conn.close()
    return None if row is None else int(row[0])


def counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        found = tuple(
            int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("accounts", "journals")
        )
    conn.close()
    return found  # type: ignore[return-value]


@needs_cli
def test_the_plan_run_with_sqlite3_moves_the_autoincrement_counter_once(tmp_path):
    restored = seed_restore(tmp_path, " AUTOINCREMENT")
    plan = tmp_path / "plan.sql"
    written = run("fix", "--dsn", dsn(restored), "--rules", rules(tmp_path), "-o", str(plan))
    assert written.exit_code == 1, written.output
    assert "1 sequence to move" in written.stderr
    text = plan.read_text()
    assert text.count("BEGIN IMMEDIATE;") == 1 and text.rstrip().endswith("COMMIT;")
    assert "UPDATE main.sqlite_sequence SET seq" in text
    before = counts(restored)
    out = shell(restored, text)
    assert "restoregate: main.accounts hands out 1307 next" in out
    assert saved_seq(restored) == 1306, "the next key is 306 + 1 + 1000"
    assert counts(restored) == before
    check = run("check", "--dsn", dsn(restored), "--rules", rules(tmp_path))
    assert "2 sequences ahead of every key" in check.output
    unchanged = sha256(restored)
    shell(restored, text)  # again: nothing to do
    assert sha256(restored) == unchanged


@needs_cli
def test_apply_moves_it_in_one_transaction_and_the_recheck_passes(tmp_path):
    restored = seed_restore(tmp_path, " AUTOINCREMENT")
    result = run("fix", "--dsn", dsn(restored), "--rules", rules(tmp_path), "--apply", "--yes")
    assert result.exit_code == 0, result.output
    assert "COMMITTED" in result.stderr
    assert saved_seq(restored) == 1306


@needs_cli
def test_a_dry_run_on_sqlite_changes_nothing(tmp_path):
    restored = seed_restore(tmp_path, " AUTOINCREMENT")
    before = sha256(restored)
    result = run("fix", "--dsn", dsn(restored), "--rules", rules(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "rolled back" in result.stderr
    assert sha256(restored) == before


@needs_cli
def test_a_plain_rowid_table_is_left_to_a_person_with_what_to_do(tmp_path):
    restored = seed_restore(tmp_path)  # no AUTOINCREMENT: max(rowid) + 1
    before = sha256(restored)
    result = run("fix", "--dsn", dsn(restored), "--rules", rules(tmp_path))
    assert result.exit_code == 1
    assert "0 sequences to move" in result.stderr
    assert "keeps no counter a script could move" in result.stdout
    assert "insert a placeholder parent with the largest" in result.stdout
    applied = run("fix", "--dsn", dsn(restored), "--rules", rules(tmp_path), "--apply", "--yes")
    assert "nothing in this plan changes the database" in applied.stderr
    assert sha256(restored) == before, "fix never opened it for writing"


@needs_cli
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only file anyway")
def test_a_read_only_file_is_exit_2_and_unchanged(tmp_path):
    restored = seed_restore(tmp_path, " AUTOINCREMENT")
    restored.chmod(0o444)
    try:
        before = sha256(restored)
        result = run("fix", "--dsn", dsn(restored), "--rules", rules(tmp_path), "--apply", "--yes")
        assert result.exit_code == 2, result.output
        assert "lacks write permission on" in result.stderr
        assert sha256(restored) == before
    finally:
        restored.chmod(0o644)


@needs_cli
def test_quarantine_and_fence_say_plainly_they_are_not_for_sqlite(tmp_path):
    restored = seed_restore(tmp_path, " AUTOINCREMENT")
    quarantine = run(
        "fix", "--dsn", dsn(restored), "--rules", rules(tmp_path), "--orphans", "quarantine"
    )
    assert quarantine.exit_code == 2
    assert "not supported on SQLite" in quarantine.stderr
    fence = run("fence", "lock", "app", "--dsn", dsn(restored))
    assert fence.exit_code == 2 and "a file has no logins" in fence.stderr
