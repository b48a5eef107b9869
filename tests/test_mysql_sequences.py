"""MariaDB SEQUENCE objects and their cache, after a dump and reload (real server).

``next_not_cached_value`` is what the server hands out next only while the sequence's
cache is empty; while values are cached it may hand out values as low as
``next_not_cached_value - (cache_size - 1) * increment``. Behind at the low bound and at
next_not_cached_value fails; behind only at the low bound warns; exhaustion is judged at
next_not_cached_value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from restoregate.catalog import SequenceDef
from restoregate.cli import cli
from restoregate.engines.mysql.engine import cached_position
from restoregate.names import QualifiedName
from tests.mysqltest import admin, databases, server_answers

pytestmark = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")


@pytest.fixture
def new_mydb():
    yield from databases(admin())


def mariadb_only(db: Any) -> None:
    if "mariadb" not in str(db.scalar("SELECT VERSION()")).lower():
        pytest.skip("SEQUENCE objects are MariaDB's")


def check(dsn: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["check", "--dsn", dsn, "--format", "json"])
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def sequences_rule(doc: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in doc["rules"] if r["id"] == "sequences")


CREATE = (
    "CREATE SEQUENCE invoice_seq START WITH 1 {cache};"
    "CREATE TABLE invoices (id bigint NOT NULL DEFAULT NEXT VALUE FOR invoice_seq"
    " PRIMARY KEY, total int);"
    "INSERT INTO invoices (total) VALUES (1), (2), (3);"
)


def reload(db: Any, *dumps: Path) -> None:
    """The disaster and the restore, in place (the dump's defaults name this database)."""
    db.execute("DROP TABLE invoices; DROP SEQUENCE invoice_seq;")
    for dump in dumps:
        db.load(dump)


def restore_with_an_older_sequence(db: Any, tmp: Path, cache: str) -> None:
    """The sequence comes from the 09:00 dump, the table from the 10:00 one."""
    db.execute(CREATE.format(cache=cache))
    db.dump(tmp / "nine.sql", "--skip-add-locks", tables=["invoice_seq"])
    db.execute("INSERT INTO invoices (total) SELECT seq FROM seq_1_to_1497;")  # MariaDB
    db.dump(tmp / "ten.sql", "--skip-add-locks", tables=["invoices"])
    reload(db, tmp / "nine.sql", tmp / "ten.sql")


def test_cache_1000_behind_after_reload_fails_with_the_low_bound(new_mydb, tmp_path):
    db = new_mydb()
    mariadb_only(db)
    restore_with_an_older_sequence(db, tmp_path, "CACHE 1000")
    assert db.scalar("SELECT next_not_cached_value FROM invoice_seq") == 1001
    assert db.scalar("SELECT max(id) FROM invoices") == 1500
    code, doc = check(db.dsn)
    assert code == 1
    behind = sequences_rule(doc)["violations"][0]
    assert behind["kind"] == "sequence_behind"
    assert (behind["next_value"], behind["max_value"]) == (2, 1500)
    assert "caches 1,000 values: next_not_cached_value is 1,001" in behind["basis"]
    assert "as low as 2" in behind["basis"]


def test_nocache_behind_after_reload_is_exact(new_mydb, tmp_path):
    db = new_mydb()
    mariadb_only(db)
    restore_with_an_older_sequence(db, tmp_path, "NOCACHE")
    assert db.scalar("SELECT next_not_cached_value FROM invoice_seq") == 4
    code, doc = check(db.dsn)
    assert code == 1
    behind = sequences_rule(doc)["violations"][0]
    assert (behind["next_value"], behind["max_value"]) == (4, 1500)
    assert "basis" not in behind


def test_within_the_cache_window_warns(new_mydb, tmp_path):
    """Reloaded from one dump: next_not_cached_value 1001 is ahead of every key, but a live
    cache could still hand out 2..1000, where keys 2 and 3 already are."""
    db = new_mydb()
    mariadb_only(db)
    db.execute(CREATE.format(cache="CACHE 1000"))
    db.dump(tmp_path / "all.sql", "--skip-add-locks")
    reload(db, tmp_path / "all.sql")
    code, doc = check(db.dsn)
    rule = sequences_rule(doc)
    assert code == 0 and rule["status"] == "warn", rule
    assert rule["violations"] == []
    assert rule["advisories"][0]["kind"] == "sequence_cache_behind"
    assert rule["advisories"][0]["next_value"] == 2


def test_nocache_reloaded_from_one_dump_passes(new_mydb, tmp_path):
    db = new_mydb()
    mariadb_only(db)
    db.execute(CREATE.format(cache="NOCACHE"))
    db.dump(tmp_path / "all.sql", "--skip-add-locks")
    reload(db, tmp_path / "all.sql")
    code, doc = check(db.dsn)
    assert code == 0 and sequences_rule(doc)["status"] == "pass", doc


def _seq(increment: int, low: int, high: int) -> SequenceDef:
    return SequenceDef(QualifiedName("d", "s"), "bigint", 1, increment, low, high, False, False)


def test_the_cache_bound_is_mirrored_for_descending_sequences():
    up = cached_position(_seq(2, 1, 10_000), 2001, 1000)
    assert (up.next_value, up.lowest_next) == (2001, 3)
    down = cached_position(_seq(-1, -100_000, -1), -11, 10)
    assert (down.next_value, down.lowest_next) == (-11, -2)
    assert "as high as -2" in (down.basis or "")
    clamped = cached_position(_seq(1, 1, 10_000), 5, 1000)
    assert clamped.lowest_next == 1
    exhausted = cached_position(_seq(1, 1, 100), 101, 1000)
    assert exhausted.next_value is None  # exhaustion is judged at next_not_cached_value
    assert cached_position(_seq(1, 1, 100), 50, 1).lowest_next is None


def test_an_unattached_sequence_in_its_cache_window_warns(new_mydb):
    """Tied by name to invoices.id (strong), ahead at next_not_cached_value: a warning."""
    db = new_mydb()
    mariadb_only(db)
    db.execute(
        "CREATE SEQUENCE invoices_id_seq START WITH 1 CACHE 1000;"
        "CREATE TABLE invoices (id bigint PRIMARY KEY, total int);"
        "INSERT INTO invoices VALUES (NEXTVAL(invoices_id_seq), 1),"
        " (NEXTVAL(invoices_id_seq), 2), (NEXTVAL(invoices_id_seq), 3);"
    )
    code, doc = check(db.dsn)
    rule = sequences_rule(doc)
    assert code == 0 and rule["status"] == "warn", rule
    assert [a["kind"] for a in rule["advisories"]] == ["sequence_cache_behind"]
    db.execute("INSERT INTO invoices VALUES (5000, 4);")  # now behind next_not_cached_value
    code, doc = check(db.dsn)
    assert code == 1
    assert [v["kind"] for v in sequences_rule(doc)["violations"]] == ["sequence_behind"]
