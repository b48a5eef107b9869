"""The sample helpers fail loudly and build the same data on every server.

``benchmarks/inference_data.py`` loads MusicBrainz with its ``load.sh`` and generates
rows; both once failed quietly on the embedded PostgreSQL 18 (no ICU: the schema half
built; an empty array written as ``{{}}``, refused by 15 and accepted by 18).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from benchmarks import inference_data, samples
from tests.pgtest import Database, PgServer

LOADER = """#!/usr/bin/env bash
# load.sh's shape: errors printed, never an exit code
set -u
conn=$1; db=$2
here=$(cd "$(dirname "$0")/sql" && pwd)
psql "$conn dbname=postgres" -X -q -c "CREATE DATABASE $db"
for f in CreateCollations.sql Tables.sql; do
  psql "$conn dbname=$db" -X -q -f "$here/$f" 2>&1 | grep -m2 ERROR | sed "s|^|$f: |"
done
f=InsertTestData.sql
psql "$conn dbname=$db" -X -q -f "$here/$f" 2>&1 | grep -m2 ERROR | sed "s|^|$f: |"
"""


def psql_dir(server: PgServer) -> Path:
    return server.tool("psql").parent


def make_loader(folder: Path, tables: str) -> Path:
    (folder / "sql").mkdir()
    (folder / "sql" / "CreateCollations.sql").write_text("SELECT 1;\n")
    (folder / "sql" / "Tables.sql").write_text("\\set ON_ERROR_STOP 1\n" + tables)
    inserts = "".join("INSERT INTO t VALUES (1);\n" for _ in range(4))  # 3 fail: a duplicate
    (folder / "sql" / "InsertTestData.sql").write_text(inserts + "INSERT INTO t VALUES (2);\n")
    (folder / "load.sh").write_text(LOADER)
    return folder / "load.sh"


def test_load_raises_naming_the_file_that_failed(pg_server: PgServer, tmp_path: Path) -> None:
    loader = make_loader(tmp_path, "CREATE TABLE t (id int PRIMARY KEY);\nSELECT 1 / 0;\n")
    name = f"rg_load_{uuid.uuid4().hex[:10]}"
    try:
        with pytest.raises(inference_data.LoadError, match=r"Tables\.sql.*division by zero"):
            inference_data.load_musicbrainz(loader, pg_server.admin_dsn, name, psql_dir(pg_server))
    finally:
        pg_server.drop_database(name)


def test_load_keeps_going_past_test_data_errors(pg_server: PgServer, tmp_path: Path) -> None:
    """The third failing test-data statement no longer kills psql (grep -m2 + SIGPIPE)."""
    loader = make_loader(tmp_path, "CREATE TABLE t (id int PRIMARY KEY);\n")
    name = f"rg_load_{uuid.uuid4().hex[:10]}"
    try:
        notes = inference_data.load_musicbrainz(
            loader, pg_server.admin_dsn, name, psql_dir(pg_server)
        )
        db = Database(name, pg_server.dsn_for(name))
        assert db.scalar("SELECT array_agg(id ORDER BY id) FROM t") == [1, 2]
        assert sum("duplicate key" in n for n in notes) == 3, notes
    finally:
        pg_server.drop_database(name)


def test_generate_fills_array_columns_and_names_refused_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE tagged (id serial PRIMARY KEY, tags text[] NOT NULL, n int NOT NULL);"
        "CREATE TABLE impossible (id serial PRIMARY KEY, n int NOT NULL CHECK (n < 0));"
    )
    refused = inference_data.generate(db.dsn, samples.foreign_keys)
    assert db.scalar("SELECT count(*) FROM tagged WHERE tags = '{}'") == inference_data.rows_for(
        "public.tagged"
    )
    assert list(refused) == ["public.impossible"]
    assert "check constraint" in refused["public.impossible"]
    assert db.scalar("SELECT count(*) FROM impossible") == 0
