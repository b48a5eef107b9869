"""Which column pairs the MySQL/MariaDB and SQLite engines will join (``Comparable``).

Decided from the catalog's engine-neutral ``family`` (integers with decimals, uuids,
strings and times each with their own, no family only with the same type), and on MySQL
from the collations too: ``=`` across two collations is an error or is judged under a
collation that is not the parent key's. Real servers; every pair is also run as ``=``
to show what the verdict protects against.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pymysql
import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines.base import Comparable
from restoregate.engines.mysql import open_engine as open_mysql
from restoregate.engines.sqlite import open_engine as open_sqlite
from restoregate.names import ColumnSet, QualifiedName
from restoregate.settings import SessionSettings
from tests.mysqltest import admin, databases, server_answers

MYSQL_SCHEMA = """
CREATE TABLE p (
    id int PRIMARY KEY,
    big bigint unsigned UNIQUE,
    amount decimal(20,0) UNIQUE,
    code_bin varchar(20) COLLATE utf8mb4_bin UNIQUE,
    code_ci varchar(20) COLLATE utf8mb4_general_ci UNIQUE,
    code_uni varchar(20) COLLATE utf8mb4_unicode_ci UNIQUE,
    day date UNIQUE,
    raw binary(16) UNIQUE,
    ratio double UNIQUE
);
CREATE TABLE c (
    small smallint,
    amount decimal(20,0),
    name_bin char(20) COLLATE utf8mb4_bin,
    name_ci varchar(20) COLLATE utf8mb4_general_ci,
    name_ci_text text COLLATE utf8mb4_general_ci,
    at datetime,
    raw binary(16),
    raw_wide varbinary(32),
    ratio double
);
INSERT INTO p VALUES (1, 1, 1, 'a', 'a', 'a', '2020-01-01', NULL, 1);
INSERT INTO c VALUES (1, 1, 'a', 'A', 'A', '2020-01-01 00:00:00', NULL, NULL, 1);
"""
MYSQL_PAIRS = [
    ("small", "id", True),  # integers of any width
    ("small", "big", True),  # signed with unsigned
    ("small", "amount", True),  # integer with decimal
    ("amount", "id", True),
    ("name_bin", "code_bin", True),  # char with varchar, same collation
    ("name_ci", "code_ci", True),
    ("name_ci_text", "code_ci", True),  # text with varchar, same collation
    ("name_ci", "code_bin", False),  # judged under utf8mb4_bin: 'A' <> 'a'
    ("name_ci", "code_uni", False),  # Illegal mix of collations
    ("name_bin", "code_ci", False),
    ("at", "day", True),  # times with times
    ("raw", "raw", True),  # no family, the same type: BINARY(16) uuids
    ("raw_wide", "raw", False),  # no family, another type
    ("ratio", "ratio", True),
    ("ratio", "id", False),  # a float is no key's family
    ("small", "code_ci", False),  # a number with a string
    ("name_ci", "day", False),
    ("at", "id", False),
]


def _ask(engine: Any, table: tuple[str, str], pairs: list[tuple[str, str, bool]]) -> list[bool]:
    schema, _ = table
    requests = [
        Comparable(
            ColumnSet(QualifiedName(schema, "c"), (child,)),
            ColumnSet(QualifiedName(schema, "p"), (parent,)),
        )
        for child, parent, _ in pairs
    ]
    engine.catalog()
    return list(engine.answer(requests))


@pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")
def test_mysql_joins_by_family_and_collation():
    maker = databases(admin())
    db = next(maker)()
    try:
        db.execute(MYSQL_SCHEMA)
        with open_mysql(db.dsn, SessionSettings()) as engine:
            found = _ask(engine, (db.name, "c"), MYSQL_PAIRS)
        assert found == [expected for _, _, expected in MYSQL_PAIRS]
        # what a refused string pair would have done: an error, or a silent wrong answer
        conn = db.server.connect(db.name)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM c JOIN p ON p.code_bin = c.name_ci")
                assert cur.fetchone()[0] == 0  # 'A' matches 'a' under the child's collation
                with pytest.raises(pymysql.err.OperationalError, match="Illegal mix"):
                    cur.execute("SELECT count(*) FROM c JOIN p ON p.code_uni = c.name_ci")
                cur.execute("SELECT count(*) FROM c JOIN p ON p.code_ci = c.name_ci_text")
                assert cur.fetchone()[0] == 1
        finally:
            conn.close()
    finally:
        next(maker, None)


@pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")
def test_a_logical_reference_across_collations_is_a_rules_error(tmp_path):
    maker = databases(admin())
    db = next(maker)()
    try:
        db.execute(MYSQL_SCHEMA)
        rules = tmp_path / "rules.yaml"
        rules.write_text(
            "version: 1\nreferences:\n  - from: c(name_ci)\n    to: p(code_bin)\n"
            "rules:\n  - {id: references, check: references}\n"
        )
        result = CliRunner().invoke(cli, ["check", "--dsn", db.dsn, "--rules", str(rules)])
        assert result.exit_code == 2, result.output
        assert "cannot be compared with" in result.output
        rules.write_text(rules.read_text().replace("code_bin", "code_ci"))
        result = CliRunner().invoke(cli, ["check", "--dsn", db.dsn, "--rules", str(rules)])
        assert result.exit_code == 0, result.output
    finally:
        next(maker, None)


SQLITE_SCHEMA = """
CREATE TABLE p (
    id INTEGER PRIMARY KEY,
    amount NUMERIC(20) UNIQUE,
    code TEXT UNIQUE,
    code_nocase VARCHAR(20) COLLATE NOCASE UNIQUE,
    guid UUID UNIQUE,
    day DATE UNIQUE,
    ratio REAL UNIQUE,
    blob_key BLOB UNIQUE
);
CREATE TABLE c (
    small SMALLINT,
    amount DECIMAL(20),
    name VARCHAR(20),
    guid UUID,
    at DATETIME,
    ratio REAL,
    blob_key BLOB,
    flag BOOLEAN
);
"""
SQLITE_PAIRS = [
    ("small", "id", True),
    ("small", "amount", True),  # integer with decimal
    ("amount", "id", True),
    ("name", "code", True),
    ("name", "code_nocase", True),  # p = c: the parent key's collation decides
    ("guid", "guid", True),
    ("at", "day", True),
    ("ratio", "ratio", True),  # no family, the same affinity
    ("blob_key", "blob_key", True),
    ("ratio", "id", False),
    ("flag", "id", False),  # NUMERIC affinity but no number family
    ("name", "id", False),
    ("guid", "code", False),
    ("at", "id", False),
    ("blob_key", "code", False),
]


def test_sqlite_joins_by_family(tmp_path: Path):
    path = tmp_path / "cmp.db"
    conn = sqlite3.connect(path)
    conn.executescript(SQLITE_SCHEMA)
    conn.close()
    with open_sqlite(f"sqlite:///{path}", SessionSettings()) as engine:
        found = _ask(engine, ("main", "c"), SQLITE_PAIRS)
    assert found == [expected for _, _, expected in SQLITE_PAIRS]
