"""The fixtures do what the other tests rely on: a real server, fresh databases, real tools."""

from __future__ import annotations

import os
import re
import subprocess

import psycopg
import pytest
from psycopg import errors

from restoregate.engines.postgres.embedded import embedded_bindir, tool_major
from tests.pgtest import host_paths, inside_dsn, tar_of, untar_into

APP = """
    CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL);
    CREATE TABLE journals (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id int REFERENCES accounts (id)
    );
    INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 20) g;
    INSERT INTO journals (user_id) SELECT 1 + g % 20 FROM generate_series(1, 50) g;
    SELECT setval('accounts_id_seq', 27);  -- ahead of the rows, as after deletes
"""


def test_the_server_is_real_and_reports_its_version(pg_server):
    with psycopg.connect(pg_server.admin_dsn) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None and row[0] // 10000 == pg_server.major_version
    assert pg_server.kind in ("dsn", "docker", "embedded")


def test_the_server_is_the_one_that_was_asked_for(pg_server):
    """A CI matrix cell for PostgreSQL 13 must not quietly test 18."""
    if os.environ.get("RESTOREGATE_TEST_DSN"):
        assert pg_server.kind == "dsn"
    image = os.environ.get("RESTOREGATE_TEST_PG_IMAGE")
    if image and pg_server.kind == "docker":
        tag = re.match(r"(\d+)", image.rpartition(":")[2])
        if tag:
            assert pg_server.major_version == int(tag.group(1))


def test_the_client_tools_suit_the_server(pg_server):
    for name in ("pg_dump", "pg_restore", "psql"):
        said = pg_server.run_tool(name, ["--version"]).stdout
        major = int(re.search(r"\(PostgreSQL\) (\d+)", said).group(1))
        if pg_server.kind == "dsn" and major != pg_server.major_version:
            # no tools of the server's version on this machine: the embedded, newer ones
            assert pg_server.tool(name) == embedded_bindir() / name
        else:
            assert major == pg_server.major_version


def test_each_test_gets_a_fresh_empty_database(db):
    assert re.fullmatch(r"rg_[0-9a-f]{12}", db.name)
    assert db.scalar("SELECT current_database()") == db.name
    assert (
        db.scalar("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace") == 0
    )


@pytest.mark.parametrize("run", [1, 2])
def test_tests_do_not_see_each_others_tables(db, run):
    db.execute("CREATE TABLE shared_name (id int); INSERT INTO shared_name VALUES (1);")
    assert db.scalar("SELECT count(*) FROM shared_name") == 1


def test_execute_runs_a_script_in_one_session(db):
    db.execute("""
        CREATE TABLE parent (id int PRIMARY KEY);
        CREATE TABLE child (parent_id int REFERENCES parent);
        SET session_replication_role = replica;  -- the way orphans get past a foreign key
        INSERT INTO child VALUES (42);
    """)
    assert db.scalar("SELECT parent_id FROM child") == 42


def test_new_db_makes_as_many_separate_databases_as_asked(new_db):
    first, second = new_db(), new_db()
    first.execute("CREATE TABLE only_here (id int)")
    assert first.name != second.name
    assert second.scalar("SELECT to_regclass('only_here') IS NULL") is True


_made: dict[str, str] = {}


def test_a_database_and_a_role_made_in_one_test(db, make_role):
    _made["database"] = db.name
    dsn = make_role(db, "rg_fixture")
    with psycopg.connect(dsn) as conn:
        _made["role"] = str(conn.execute("SELECT current_user").fetchone()[0])


def test_are_dropped_before_the_next(pg_server):
    if not _made:
        pytest.skip("runs after test_a_database_and_a_role_made_in_one_test")
    with psycopg.connect(pg_server.admin_dsn) as conn:
        database = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_made["database"]])
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [_made["role"]])
        assert (database.fetchone(), role.fetchone()) == (None, None)


@pytest.mark.parametrize("fmt", ["c", "d", "t", "p"])
def test_dump_and_restore_keep_rows_and_sequence_positions(
    pg_server, new_db, dump, restore, tmp_path, fmt
):
    source, target = new_db(), new_db()
    source.execute(APP)
    archive = tmp_path / f"app.{fmt}"
    dump(source, archive, f"-F{fmt}")
    if fmt == "p":
        target_dsn = pg_server.dsn_for(target.name)
        result = pg_server.run_tool(
            "psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target_dsn, "-f", str(archive)]
        )
    else:
        result = restore(archive, target)
    assert (result.returncode, result.stderr) == (0, "")
    for query in (
        "SELECT count(*), sum(id) FROM journals",
        "SELECT nextval('accounts_id_seq')",
        "SELECT nextval(pg_get_serial_sequence('journals', 'id'))",
    ):
        assert target.scalar(query) == source.scalar(query), query


def test_restore_returns_pg_restores_errors_for_the_test_to_judge(db, dump, restore, tmp_path):
    db.execute(APP)
    dump(db, tmp_path / "app.dump", "-Fc")
    result = restore(tmp_path / "app.dump", db)  # everything already exists
    assert result.returncode == 1
    assert "errors ignored on restore" in result.stderr


def test_dump_fails_the_test_when_pg_dump_fails(db, dump, tmp_path):
    with pytest.raises(pytest.fail.Exception, match="no matching tables were found"):
        dump(db, tmp_path / "x.dump", "--strict-names", "-t", "no_such_table")


def test_a_newer_pg_restore_reports_a_spurious_error_on_an_older_server(
    pg_server, new_db, dump, tmp_path
):
    """Why the fixtures match tool versions: pg_restore 17+ sets transaction_timeout."""
    if pg_server.major_version >= 17:
        pytest.skip("transaction_timeout exists on PostgreSQL 17 and later")
    source, target = new_db(), new_db()
    source.execute(APP)
    dump(source, tmp_path / "app.dump", "-Fc")  # the server's own pg_dump
    newer = embedded_bindir() / "pg_restore"
    result = subprocess.run(
        [str(newer), "-d", pg_server.dsn_for(target.name), str(tmp_path / "app.dump")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tool_major(str(newer)) >= 17
    assert result.returncode == 1
    assert 'unrecognized configuration parameter "transaction_timeout"' in result.stderr
    assert target.scalar("SELECT count(*) FROM journals") == 50, "all else was restored"


def test_a_reader_role_reads_everything_and_writes_nothing(pg_server, db, make_role):
    if pg_server.major_version < 14:
        pytest.skip("pg_read_all_data arrived in PostgreSQL 14")
    db.execute(APP)
    dsn = make_role(db, "rg_reader", "GRANT pg_read_all_data TO {role}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM journals").fetchone() == (50,)
        assert conn.execute("SELECT last_value FROM accounts_id_seq").fetchone() == (27,)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO accounts (email) VALUES ('x')")


def test_a_role_without_select_on_a_table_is_refused(db, make_role):
    db.execute(APP)
    dsn = make_role(db, "rg_partial", "GRANT SELECT ON accounts TO {role}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (20,)
        assert str(conn.execute("SELECT current_user").fetchone()[0]).startswith("rg_partial_")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM journals")


def test_docker_runs_see_host_paths_among_the_arguments(tmp_path):
    archive = tmp_path / "a.dump"
    args = ["-Fc", "-f", str(archive), f"--use-list={tmp_path}/toc", "relative.dump", "/no/such/x"]
    assert host_paths(args) == [archive, tmp_path / "toc"]


def test_docker_runs_aim_dsns_of_the_container_at_its_inside_port():
    outside = ("localhost", "32768")
    moved = inside_dsn("host=localhost port=32768 user=test password=test dbname=rg_1", outside)
    assert psycopg.conninfo.conninfo_to_dict(moved) == {
        "host": "127.0.0.1",
        "port": "5432",
        "user": "test",
        "password": "test",
        "dbname": "rg_1",
    }
    for untouched in ("--section=data", "ON_ERROR_STOP=1", "-Fc", "host=db port=5432 dbname=x"):
        assert inside_dsn(untouched, outside) == untouched


def test_docker_copies_survive_a_tar_round_trip(tmp_path):
    directory = tmp_path / "app.d"
    directory.mkdir()
    (directory / "toc.dat").write_bytes(b"\x00PGDMP")
    (tmp_path / "app.dump").write_bytes(b"PGDMP")
    out = tmp_path / "out"
    out.mkdir()
    for path in (directory, tmp_path / "app.dump"):
        untar_into([tar_of(path)], out)
    assert (out / "app.d" / "toc.dat").read_bytes() == b"\x00PGDMP"
    assert (out / "app.dump").read_bytes() == b"PGDMP"
