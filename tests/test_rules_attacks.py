"""A rules file is untrusted input: every attack from issue 7, against a real server.

Each test asserts two things: the gate is closed (exit 2 from the loader or the
server's vetting, or a refused probe) and the victim is unharmed. Attacks that the
loader would stop are also sent straight to the backend, past sqlglot, to prove the
server-side fence holds on its own.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.engines.base import (
    DuplicateKeys,
    Duplicates,
    QueryRows,
    UserQuery,
    VetUserQuery,
)
from restoregate.engines.postgres.probes import PostgresEngine, open_engine
from restoregate.engines.postgres.session import SessionSettings
from restoregate.errors import CheckFailedToRun, RefusedSql, RulesError
from restoregate.rules.loader import load_rules_text
from tests.gate import gate, rule

VICTIM = """
CREATE TABLE victim (id serial PRIMARY KEY, note text);
INSERT INTO victim (note) SELECT 'row ' || g FROM generate_series(1, 5) g;
"""


def rules(entry: str, top: str = "") -> str:
    return f"version: 1\n{top}rules:\n  - {entry}\n"


def lint(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / f"attack-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "lint", str(path)], catch_exceptions=False)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


class Direct:
    """The engine's own answers, asked directly: past sqlglot, past the loader."""

    def __init__(self, engine: PostgresEngine) -> None:
        self.engine = engine
        self.connection = engine.connection

    def query_rows(
        self, query: str, sample: int, schemas: list[str], allowed: tuple[str, ...] = ()
    ) -> QueryRows:
        request = UserQuery(query, sample, tuple(schemas), tuple(allowed))
        return self.engine.answer_user_query(request)

    def vet_query(self, query: str, schemas: list[str], allowed: list[str]) -> None:
        self.engine.answer_vet_user_query(VetUserQuery(query, tuple(schemas), tuple(allowed)))

    def duplicates(self, table: str, expressions: list[str], sample: int) -> Duplicates:
        found = next(n for n in self.engine.catalog().tables if n.name == table)
        return self.engine.answer_duplicate_keys(DuplicateKeys(found, tuple(expressions), sample))


@contextmanager
def backend(dsn: str) -> Iterator[Direct]:
    with open_engine(dsn, SessionSettings()) as found:
        yield Direct(found)


def victim_rows(db) -> int:
    return int(db.scalar("SELECT count(*) FROM victim"))


@contextmanager
def idle_session(dsn: str) -> Iterator[tuple[psycopg.Connection[object], int]]:
    """A second session, idle, as an application connection would be."""
    conn: psycopg.Connection[object] = psycopg.connect(dsn, autocommit=True)
    try:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        yield conn, int(row[0])
    finally:
        conn.close()


def alive(conn: psycopg.Connection[object]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


# --- smuggling statements past the parser ------------------------------------------


def test_a_second_statement_never_runs(db, tmp_path):
    db.execute(VICTIM)
    attack = "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM victim"
    code, out = lint(tmp_path, rules(f'{{id: q, check: sql, sql: "{attack}"}}'))
    assert code == 2 and "exactly one statement" in out
    with backend(db.dsn) as found, pytest.raises(CheckFailedToRun) as caught:
        found.query_rows(attack, 20, ["public"])  # past sqlglot, straight to the server
    assert "multiple commands" in caught.value.message or "syntax" in caught.value.message
    assert victim_rows(db) == 5


def test_standard_conforming_strings_cannot_be_turned_off_for_later_rules(db):
    """The issue's attack: rule 1 flips the setting, rule 2 hides a DELETE in a string."""
    db.execute(
        VICTIM
        + """CREATE FUNCTION public.flip() RETURNS text LANGUAGE sql
             AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;"""
    )
    with pytest.raises(RulesError, match="set_config"):
        load_rules_text(
            rules(
                "{id: q, check: sql, sql: \"SELECT set_config('standard_conforming_strings',"
                " 'off', false)\"}"
            ),
            "r.yaml",
        )
    smuggled = r"SELECT 'a\'; COMMIT; BEGIN READ WRITE; DELETE FROM victim; --'"
    with backend(db.dsn) as found:
        # even a function the file trusts cannot leave the setting behind its probe
        found.query_rows("SELECT public.flip()", 20, ["public"], ("public.flip",))
        conn = found.connection
        assert conn.execute("SHOW standard_conforming_strings").fetchone() == ("on",)
        # the server reads 'a\' as the whole string, as sqlglot does: one statement, broken
        with pytest.raises(RefusedSql, match="syntax error"):
            found.query_rows(smuggled, 20, ["public"])
    assert victim_rows(db) == 5


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT U&"\\0064blink"(1)',
        "SELECT U&'\\0041'",
        'SELECT u&"x" FROM victim',
        "SELECT E'a\\'b'",
    ],
)
def test_unicode_escapes_and_escape_strings_are_refused_by_lint(tmp_path, sql):
    code, out = lint(tmp_path, rules("{id: q, check: sql, sql: " + repr(sql) + "}"))
    assert code == 2
    assert ":3:" in out and ("U&" in out or "E'" in out)


# --- functions that act outside the transaction -------------------------------------


@pytest.mark.parametrize(
    ("call", "named"),
    [
        ("query_to_xml('DELETE FROM victim RETURNING 1', true, false, '')", "query_to_xml"),
        ("pg_catalog.ts_stat('SELECT 1')", "ts_stat"),
        ("pg_stat_reset()", "pg_stat_reset"),
        ("pg_create_physical_replication_slot('rg_attack')", "pg_create_physical_replication"),
        ("lo_export(1, '/tmp/rg-marker')", "lo_export"),
        ("pg_read_file('/etc/passwd')", "pg_read_file"),
        ("pg_advisory_lock(42)", "pg_advisory_lock"),
        ("pg_terminate_backend(1)", "pg_terminate_backend"),
        ("nextval('victim_id_seq')", "nextval"),
    ],
)
def test_lint_refuses_built_ins_with_effects_and_names_them(tmp_path, call, named):
    code, out = lint(tmp_path, rules(f'{{id: q, check: sql, sql: "SELECT {call}"}}'))
    assert code == 2, out
    assert named in out and ":3:" in out


def test_pg_terminate_backend_of_an_idle_session(db):
    db.execute(VICTIM)
    with idle_session(db.dsn) as (other, pid), backend(db.dsn) as found:
        with pytest.raises(RefusedSql, match="pg_terminate_backend"):
            found.query_rows(f"SELECT pg_terminate_backend({pid})", 20, ["public"])
        assert alive(other)


def test_query_to_xml_cannot_run_query_text(db):
    db.execute(VICTIM)
    with backend(db.dsn) as found:
        for text in (
            "SELECT query_to_xml('SELECT pg_cancel_backend(1)', true, false, '')",
            "SELECT \"query_to_xml\"('SELECT 1', true, false, '')",
            "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')",
        ):
            with pytest.raises(RefusedSql):
                found.query_rows(text, 20, ["public"])


def test_pg_stat_reset_leaves_the_statistics(db):
    db.execute(VICTIM)
    before = db.scalar(
        "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database"
        " WHERE datname = current_database()"
    )
    scans = db.scalar("SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables")
    with backend(db.dsn) as found, pytest.raises(RefusedSql, match="pg_stat_reset"):
        found.query_rows("SELECT pg_stat_reset()", 20, ["public"])
    after = db.scalar(
        "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database"
        " WHERE datname = current_database()"
    )
    assert after == before
    assert db.scalar("SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables") >= scans


def test_no_replication_slot_is_left_holding_wal(db):
    slot = f"rg_attack_{uuid.uuid4().hex[:6]}"
    with backend(db.dsn) as found, pytest.raises(RefusedSql):
        found.query_rows(f"SELECT pg_create_physical_replication_slot('{slot}')", 20, [])
    count = db.scalar(f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'")
    assert count == 0


def test_no_server_file_is_written_or_read_into_the_report(db, tmp_path):
    marker = Path("/tmp") / f"rg-marker-{uuid.uuid4().hex[:8]}"
    with backend(db.dsn) as found:
        with pytest.raises(RefusedSql):
            found.query_rows(f"SELECT lo_export(lo_from_bytea(0, 'x'), '{marker}')", 20, [])
        with pytest.raises(RefusedSql) as caught:
            found.query_rows("SELECT pg_read_file('/etc/passwd')", 20, [])
    assert not marker.exists()
    assert "root:" not in caught.value.message


def test_advisory_locks_and_probe_locks_do_not_survive(db):
    db.execute(
        VICTIM
        + """CREATE FUNCTION public.grab() RETURNS int LANGUAGE sql
             AS $$ SELECT 1 FROM (SELECT pg_advisory_xact_lock(4242)) AS l $$;"""
    )
    with backend(db.dsn) as found:
        with pytest.raises(RefusedSql, match="pg_advisory_lock"):
            found.query_rows("SELECT pg_advisory_lock(4242)", 20, [])
        found.query_rows("SELECT public.grab()", 20, ["public"], ("public.grab",))
        pid = found.connection.info.backend_pid
        held = db.scalar(
            f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {pid}"
        )
    assert held == 0, "the probe's savepoint was rolled back, and its locks with it"


def test_dblink_is_not_a_built_in(db, tmp_path):
    available = db.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'dblink'")
    if not available:
        pytest.skip("the dblink extension is not installed on this server")
    db.execute(VICTIM + "CREATE EXTENSION dblink;")
    attack = "SELECT * FROM dblink_exec('dbname=' || current_database(), 'DELETE FROM victim')"
    code, out = lint(tmp_path, rules(f'{{id: q, check: sql, sql: "{attack}"}}'))
    assert code == 2 and "dblink_exec" in out
    with backend(db.dsn) as found, pytest.raises(RefusedSql, match="dblink_exec"):
        found.query_rows(attack, 20, ["public"])
    assert victim_rows(db) == 5


# --- functions of the database's own -----------------------------------------------

EVIL = """
CREATE FUNCTION public.evil(pid int) RETURNS bool LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN pg_terminate_backend(pid); END $$;
"""


def test_a_user_function_is_refused_unless_allowlisted(db, tmp_path):
    db.execute(VICTIM + EVIL)
    with idle_session(db.dsn) as (other, pid):
        text = rules(f'{{id: q, check: sql, sql: "SELECT public.evil({pid})"}}')
        code, out = lint(tmp_path, text)
        assert code == 2 and "public.evil" in out and "allow_functions" in out
        with backend(db.dsn) as found, pytest.raises(RefusedSql, match="not a built-in"):
            found.query_rows(f"SELECT public.evil({pid})", 20, ["public"])
        assert alive(other)


def test_an_allowlisted_function_runs(db):
    db.execute(
        VICTIM + "CREATE FUNCTION public.short(t text) RETURNS bool LANGUAGE sql IMMUTABLE"
        " AS $$ SELECT length(t) < 6 $$;"
    )
    text = rules(
        "{id: q, check: sql, sql: 'SELECT id FROM victim WHERE NOT public.short(note)'}",
        top="allow_functions: [public.short]\n",
    )
    report = gate(db.dsn, text)
    assert rule(report, "q").status == "pass"
    report = gate(
        db.dsn,
        rules(
            "{id: u, check: unique, table: victim, columns: ['public.short(note)']}",
            top="allow_functions: [public.short]\n",
        ),
    )
    assert rule(report, "u").status == "fail"  # five rows share short(note) = false


def test_the_server_decides_which_function_a_name_means(db):
    """``lower(varchar)`` in public beats ``pg_catalog.lower(text)``: the server's pick counts."""
    db.execute(
        "CREATE TABLE people (name varchar(20));"
        "CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;"
    )
    text = rules("{id: q, check: sql, sql: 'SELECT lower(name) FROM people'}")
    with pytest.raises(RulesError, match=r"public\.lower\(character varying\).*not a built-in"):
        gate(db.dsn, text)


def test_operators_views_and_domains_are_followed_to_their_functions(db):
    db.execute(
        VICTIM
        + EVIL
        + """
        CREATE FUNCTION public.eq_evil(int, text) RETURNS bool LANGUAGE sql AS $$ SELECT true $$;
        CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = text, FUNCTION = public.eq_evil);
        CREATE VIEW public.innocent AS SELECT id, public.evil(0) AS x FROM victim;
        CREATE FUNCTION public.ok(int) RETURNS bool LANGUAGE sql AS $$ SELECT true $$;
        CREATE DOMAIN public.checked AS int CHECK (public.ok(VALUE));
        """
    )
    with backend(db.dsn) as found:
        for text, culprit in (
            ("SELECT id FROM victim WHERE id = 'x'::text", "eq_evil"),
            ("SELECT * FROM innocent", "evil"),
            ("SELECT 1::public.checked", "public.ok"),
        ):
            with pytest.raises(RefusedSql, match=culprit):
                found.query_rows(text, 20, ["public"])


def test_a_foreign_table_is_refused(db):
    db.execute(
        "CREATE FOREIGN DATA WRAPPER rg_fdw; CREATE SERVER rg_srv FOREIGN DATA WRAPPER rg_fdw;"
        "CREATE FOREIGN TABLE public.remote (id int) SERVER rg_srv;"
    )
    with backend(db.dsn) as found, pytest.raises(RefusedSql, match="foreign table"):
        found.query_rows("SELECT * FROM remote", 20, ["public"])


def test_unique_expressions_are_vetted_by_the_server(db):
    db.execute(VICTIM + EVIL)
    with pytest.raises(RulesError, match=r"public\.evil"):
        gate(db.dsn, rules("{id: u, check: unique, table: victim, columns: ['public.evil(id)']}"))
    with backend(db.dsn) as found, pytest.raises(RefusedSql, match="pg_terminate_backend"):
        found.duplicates("victim", ["pg_terminate_backend(id)"], 20)
    assert victim_rows(db) == 5


def test_a_refused_rule_closes_the_gate_with_exit_2_on_the_command_line(db, tmp_path):
    db.execute(
        "CREATE TABLE people (id serial PRIMARY KEY, name varchar(20));"
        "CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;"
    )
    path = tmp_path / "r.yaml"
    path.write_text(
        textwrap.dedent(rules("{id: q, check: sql, sql: 'SELECT lower(name) FROM people'}"))
    )
    result = CliRunner().invoke(
        cli, ["check", "--dsn", db.dsn, "--rules", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert f"{path}:3:5: rule 'q'" in result.output + result.stderr


ORDINARY = [
    "SELECT id FROM t1 WHERE (id, name) < (5, 'z') ORDER BY name DESC NULLS LAST",
    "SELECT t1_id, sum(amount) FILTER (WHERE amount > 0), count(DISTINCT id) FROM t2"
    " GROUP BY t1_id HAVING count(*) > 1",
    "SELECT id, row_number() OVER (PARTITION BY name ORDER BY ts RANGE BETWEEN UNBOUNDED"
    " PRECEDING AND CURRENT ROW) FROM t1",
    "WITH x AS (SELECT * FROM t1) SELECT * FROM x JOIN LATERAL (SELECT * FROM t2"
    " WHERE t2.t1_id = x.id) y ON true",
    "SELECT * FROM t1 WHERE id IN (SELECT t1_id FROM t2) AND id = ANY('{1,2}')"
    " AND name ILIKE 'a%' AND name ~ '^a'",
    "SELECT g, j->>'a', j @> '{\"a\":1}', arr[1], coalesce(name, 'x'), greatest(1,2),"
    " nullif(id, 0), ts::date, extract(epoch from ts), now() - interval '1 day'"
    " FROM t1, generate_series(1,3) g",
    "SELECT * FROM t1 TABLESAMPLE SYSTEM (50)",
    "SELECT id::text || name, lower(name), length(name), to_char(ts, 'YYYY'),"
    " date_trunc('day', ts), md5(name), string_agg(name, ',') OVER () FROM t1",
    "SELECT DISTINCT ON (name) name, id FROM t1 ORDER BY name, id",
    "SELECT id FROM t1 UNION SELECT t1_id FROM t2 EXCEPT SELECT 3",
    "SELECT jsonb_array_elements('[1,2]'::jsonb), array_agg(id ORDER BY id) FROM t1 GROUP BY 1",
    "SELECT CASE WHEN id > 1 THEN 'a' ELSE 'b' END, id BETWEEN 1 AND 2,"
    " id IS DISTINCT FROM 3, name IN ('a','b') FROM t1",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id) FROM t1",
    "SELECT id FROM t1 -- a trailing comment",
]


def test_ordinary_queries_are_not_refused(db):
    db.execute(
        "CREATE TABLE t1 (id int PRIMARY KEY, name text, ts timestamptz, j jsonb, arr int[]);"
        "CREATE TABLE t2 (id int, t1_id int REFERENCES t1, amount numeric);"
        "INSERT INTO t1 VALUES (1, 'a', now(), '{\"a\": 1}', '{1,2}');"
    )
    with backend(db.dsn) as found:
        for query in ORDINARY:
            found.vet_query(query, ["public"], [])
            found.query_rows(query, 20, ["public"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * FROM victim FOR UPDATE", "neither write nor lock"),
        ("WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d", "cannot run it"),
        ("SELECT * FROM no_such_table", "does not exist"),
    ],
)
def test_the_server_refuses_what_is_not_a_plain_select(db, query, message):
    db.execute(VICTIM)
    with backend(db.dsn) as found, pytest.raises(RefusedSql, match=message):
        found.query_rows(query, 20, ["public"])
    assert victim_rows(db) == 5


def test_allowlisted_names_with_capitals_and_dots(db):
    db.execute(
        'CREATE TABLE t (id int); CREATE SCHEMA "Odd.Schema";'
        'CREATE FUNCTION "Odd.Schema"."Score"(int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;'
    )
    text = rules(
        """{id: q, check: sql, sql: 'SELECT "Odd.Schema"."Score"(2) WHERE false'}""",
        top="""allow_functions: ['"Odd.Schema"."Score"']\n""",
    )
    assert rule(gate(db.dsn, text), "q").status == "pass"
    with pytest.raises(RulesError, match="Score"):
        gate(db.dsn, text.replace("allow_functions", "# allow_functions"))


def test_what_runs_is_what_the_server_vetted(db, monkeypatch):
    """A shadowing function created between vetting and running changes nothing."""
    from restoregate.engines.postgres import vetting

    db.execute("CREATE TABLE people (name varchar(20)); INSERT INTO people VALUES ('ANN');")
    judge = vetting._judge

    def judge_then_shadow(*args, **kwargs):
        judge(*args, **kwargs)
        db.execute(
            "CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$"
        )

    monkeypatch.setattr(vetting, "_judge", judge_then_shadow)
    with backend(db.dsn) as found:
        rows = found.query_rows("SELECT lower(name) FROM people", 20, ["public"])
        assert rows.sample == [("ann",)]
        left = found.connection.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = 'restoregate_vetted'"
        ).fetchone()
        assert left == (0,), "the vetted statement is dropped after its probe"


def test_a_slow_user_query_is_stopped_by_the_statement_timeout(db):
    db.execute("CREATE TABLE t (id int);")
    text = rules(
        "{id: q, check: sql, sql: 'SELECT 1 FROM generate_series(1, 500000000) g WHERE g < 0'}"
    )
    report = gate(db.dsn, text, settings=SessionSettings(statement_timeout="300ms"))
    result = rule(report, "q")
    assert result.status == "error" and "statement timeout" in result.message
    assert report.exit_code == 3
