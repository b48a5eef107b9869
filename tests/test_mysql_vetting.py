"""On MySQL/MariaDB the server runs exactly the text restoregate vetted (real server).

Each attack is first shown to work when the rule's original text reaches the server (an
admin session runs it), then shown inert or refused through restoregate. Effects are
observed, never timed: a column the comment would add, a named lock another session
can see, a user variable, the session's settings.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from restoregate.cli import cli
from restoregate.engines.base import UserQuery
from restoregate.engines.mysql import vetting
from restoregate.engines.mysql.engine import open_engine
from restoregate.errors import CheckFailedToRun
from restoregate.settings import SessionSettings
from tests.mysqltest import admin, databases, server_answers

pytestmark = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")

TABLES = """
CREATE TABLE accounts (id int AUTO_INCREMENT PRIMARY KEY, email varchar(100), made datetime,
  doc json);
INSERT INTO accounts (email, made, doc) VALUES ('a@x', '2020-01-01 10:00:00', '{"n": 1}'),
  ('b@x', '2021-06-01 10:00:00', '{"n": 2}'), ('C@y', NULL, NULL);
"""


@pytest.fixture(scope="module")
def server_db():
    maker = databases(admin())
    make = next(maker)
    db = make()
    db.execute(TABLES)
    yield db
    next(maker, None)


def run(db: Any, query: str) -> Any:
    with open_engine(db.dsn, SessionSettings()) as engine:
        return engine.answer_user_query(UserQuery(query, 10, (db.name,)))


def direct(db: Any, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The original text on the server itself: what happened before the text was rebuilt."""
    conn = db.server.connect(db.name)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()


def held(db: Any, lock: str) -> bool:
    conn = db.server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT IS_USED_LOCK(%s)", (lock,))
            return cur.fetchone()[0] is not None
    finally:
        conn.close()


@pytest.mark.parametrize("opening", ["/*!", "/*!50000", "/*M!", "/*M!100000"])
def test_executable_comments_reach_the_server_inert(server_db, opening):
    attack = f"SELECT 1 AS a {opening} , 'smuggled' AS b */"
    version = str(direct(server_db, "SELECT VERSION()")[1][0][0]).lower()
    if opening.startswith("/*M!") and "mariadb" not in version:
        pytest.skip("MySQL treats /*M! as a plain comment")
    columns, _ = direct(server_db, attack)
    assert columns == ["a", "b"], "the server runs the comment's body"
    found = run(server_db, attack)
    assert found.columns == ["a"] and found.sample == [(1,)]


def test_a_lock_in_a_comment_is_never_taken(server_db):
    lock = f"rg_{uuid.uuid4().hex}"
    attack = f"SELECT 1 AS a /*!, GET_LOCK('{lock}', 0) AS b */"
    with open_engine(server_db.dsn, SessionSettings()) as engine:
        engine.answer_user_query(UserQuery(attack, 10, (server_db.name,)))
        assert not held(server_db, lock)  # the engine's session is still open here


@pytest.mark.parametrize(
    "attack",
    [
        "SELECT SLEEP(5)",
        "SELECT GET_LOCK('x', 0)",
        "SELECT RELEASE_ALL_LOCKS()",
        "SELECT LOAD_FILE('/etc/passwd')",
        "SELECT BENCHMARK(100000000, MD5('x'))",
        "SELECT MASTER_POS_WAIT('log', 4)",
        "SELECT LAST_INSERT_ID(5)",
        "SELECT 1 INTO @x",
        "SELECT 1 INTO OUTFILE '/tmp/rg_outfile'",
        "SELECT 1 INTO DUMPFILE '/tmp/rg_dumpfile'",
        "SET @x = 1",
        "SELECT @x := 1",
        "SELECT @@GLOBAL.max_connections",
        "SELECT /*+ SET_VAR(max_statement_time = 0) */ 1",
        "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1",
        "SET STATEMENT max_statement_time = 0 FOR SELECT 1",
        "SELECT NEXT VALUE FOR s",
        "SELECT SETVAL(s, 1)",
        "SELECT id FROM accounts FOR UPDATE",
        "SELECT id FROM accounts LOCK IN SHARE MODE",
        "SELECT 1; DELETE FROM accounts",
        "SELECT mysql.f(1)",
        "SELECT 1 /*!, SLEEP(5) */ FROM accounts UNION SELECT SLEEP(1)",
    ],
)
def test_effects_are_refused(server_db, tmp_path, attack):
    rules = tmp_path / "rules.yaml"
    text = attack.replace("'", "''")
    rules.write_text(f"version: 1\nrules:\n  - id: evil\n    check: sql\n    sql: '{text}'\n")
    result = CliRunner().invoke(
        cli, ["check", "--dsn", server_db.dsn, "--rules", str(rules)], catch_exceptions=False
    )
    assert result.exit_code in (2, 3), (attack, result.output)
    assert "Traceback" not in result.output
    assert not Path("/tmp/rg_outfile").exists() and not Path("/tmp/rg_dumpfile").exists()


def test_a_stored_function_under_an_allowed_name_cannot_run(new_db):
    """TYPEOF is on sqlglot's list (SQLite's name); on MySQL it calls the dump's function."""
    lock = f"rg_{uuid.uuid4().hex}"
    new_db.execute(
        TABLES + f"CREATE FUNCTION typeof(a int) RETURNS int NOT DETERMINISTIC"
        f" RETURN GET_LOCK('{lock}', 0);"
        f"GRANT EXECUTE ON `{new_db.name}`.* TO '{new_db.user}'@'%';"
    )
    attack = "SELECT TYPEOF(1) AS x FROM accounts"
    with open_engine(new_db.dsn, SessionSettings()) as engine:
        with pytest.raises(CheckFailedToRun, match=r"function typeof\(\) is not a built-in"):
            engine.answer_user_query(UserQuery(attack, 10, (new_db.name,)))
        assert not held(new_db, lock)
    _, rows = direct(new_db, attack)  # the original text calls the dump's function
    assert rows == [(1,)] * 3


@pytest.fixture
def new_db():
    maker = databases(admin())
    make = next(maker)
    yield make()
    next(maker, None)


REAL_RULES = [
    "SELECT id FROM accounts WHERE CHAR_LENGTH(email) < 3 OR email NOT LIKE '%@%'",
    "SELECT id FROM accounts WHERE email REGEXP '^[A-Z]' OR email RLIKE 'y$'",
    "SELECT COUNT(*), COUNT(DISTINCT email), MIN(made), MAX(made), SUM(id), AVG(id) FROM accounts",
    "SELECT LOWER(email), UPPER(email), TRIM(email), SUBSTRING(email, 1, 2), LPAD(email, 8, '*'),"
    " CONCAT_WS('-', id, email), REPLACE(email, '@', ' at '), LOCATE('@', email) FROM accounts",
    "SELECT id FROM accounts WHERE made < NOW() - INTERVAL 7 DAY"
    " OR DATEDIFF(CURDATE(), made) > 30 OR TIMESTAMPDIFF(DAY, made, UTC_TIMESTAMP()) > 1",
    "SELECT DATE_FORMAT(made, '%Y-%m'), YEAR(made), DATE_SUB(made, INTERVAL 1 MONTH),"
    " DATE_ADD(made, INTERVAL 2 HOUR), TIMESTAMPADD(MINUTE, 5, made), LAST_DAY(made)"
    " FROM accounts",
    "SELECT CASE WHEN made IS NULL THEN 'never' ELSE 'seen' END AS s, COALESCE(email, '?'),"
    " IFNULL(made, '1970-01-01'), NULLIF(id, 2), IF(id > 1, 'b', 'a') FROM accounts",
    "SELECT CAST(id AS CHAR), CAST(made AS DATE), CONVERT(id, SIGNED), CAST(id AS DECIMAL(10, 2))"
    " FROM accounts",
    "SELECT email, COUNT(*) AS n FROM accounts GROUP BY email HAVING COUNT(*) > 1",
    "SELECT id, ROW_NUMBER() OVER (ORDER BY id), LAG(id) OVER (ORDER BY id) FROM accounts",
    "SELECT JSON_EXTRACT(doc, '$.n'), JSON_UNQUOTE(JSON_EXTRACT(doc, '$.n')), doc -> '$.n' AS n2"
    " FROM accounts WHERE JSON_VALID(doc)",
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5)"
    " SELECT g.n FROM g LEFT JOIN accounts AS a ON a.id = g.n WHERE a.id IS NULL",
    "SELECT a.id FROM accounts AS a WHERE NOT EXISTS (SELECT 1 FROM accounts AS b"
    " WHERE b.id = a.id + 1) AND a.id IN (SELECT id FROM accounts)",
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    "SELECT GROUP_CONCAT(email ORDER BY id SEPARATOR ', '), GREATEST(1, 2), ROUND(1.25, 1)"
    " FROM accounts",
]


@pytest.mark.parametrize("query", REAL_RULES)
def test_real_rules_run(server_db, query):
    found = run(server_db, query)
    assert found.count >= 0


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.text(alphabet=st.sampled_from("ab'\"\\%_\n\r\t`é€;-#/*! "), max_size=24))
def test_strings_mean_on_the_server_what_they_meant_to_sqlglot(server_db, value):
    query = exp.select(exp.Literal.string(value).as_("v")).sql(dialect="mysql")
    found = run(server_db, query)
    assert found.sample == [(value,)]


def test_the_session_is_pinned_and_checked(server_db):
    with open_engine(server_db.dsn, SessionSettings()) as engine:
        cur = engine._conn.cursor()
        cur.execute("SELECT @@SESSION.sql_mode, @@character_set_client, @@character_set_connection")
        assert cur.fetchone() == ("", "utf8mb4", "utf8mb4")
        cur.execute("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'")
        with pytest.raises(CheckFailedToRun, match="not the pinned ones"):
            engine.answer_user_query(UserQuery("SELECT 1", 1, (server_db.name,)))


def test_a_temporary_table_cannot_be_made_in_the_session(server_db):
    with open_engine(server_db.dsn, SessionSettings()) as engine:
        cur = engine._conn.cursor()
        with pytest.raises(pymysql.MySQLError, match="READ ONLY"):
            cur.execute("CREATE TEMPORARY TABLE accounts (id int)")


def test_the_text_sent_is_the_vetted_one():
    sent = vetting.query_text("SELECT email FROM accounts -- trailing\n/*! , SLEEP(1) */", True)
    assert sent == "SELECT `email` FROM `accounts`"
    key = vetting.expression_text("lower(email) /*!, GET_LOCK('x', 0) */", True)
    assert key == "LOWER(`email`)"
    with pytest.raises(ValueError, match="regexp_like"):
        vetting.query_text("SELECT REGEXP_LIKE(email, 'a', 'i') FROM accounts", True)
    assert "REGEXP_LIKE" in vetting.query_text(
        "SELECT REGEXP_LIKE(email, 'a', 'i') FROM accounts", False
    )


def test_type_names_are_calls_outside_cast():
    with pytest.raises(ValueError, match=r"datetime\(\) is not a built-in"):
        vetting.query_text("SELECT DATETIME(made) FROM accounts", True)
    assert vetting.query_text("SELECT CAST(made AS DATETIME) FROM accounts", True) == (
        "SELECT CAST(`made` AS DATETIME) FROM `accounts`"
    )


def test_every_allowed_call_is_a_server_builtin():
    """The allowlist is an allowlist: a name missing from it is refused, not let through."""
    with pytest.raises(ValueError, match=r"rg_unknown_fn\(\) is not allowed"):
        vetting.query_text("SELECT rg_unknown_fn(1)", True)
    for name in ("SLEEP", "GET_LOCK", "LOAD_FILE", "BENCHMARK", "RELEASE_LOCK", "UUID"):
        assert name not in vetting.CALLS


def test_a_view_that_calls_a_stored_function_is_refused(new_db):
    """The view runs with its definer's rights: sqlglot sees only ``SELECT * FROM v``."""
    lock = f"rg_{uuid.uuid4().hex}"
    new_db.execute(
        TABLES + "CREATE FUNCTION grab() RETURNS int NOT DETERMINISTIC"
        f" RETURN GET_LOCK('{lock}', 0);"
        "CREATE SQL SECURITY DEFINER VIEW inner_v AS SELECT id, grab() AS g FROM accounts;"
        "CREATE VIEW outer_v AS SELECT id FROM inner_v;"
        "CREATE VIEW plain_v AS SELECT id, LOWER(email) AS e FROM accounts;"
    )
    with open_engine(new_db.dsn, SessionSettings()) as engine:
        found = engine.answer_user_query(UserQuery("SELECT * FROM plain_v", 10, (new_db.name,)))
        assert found.count == 3
        for query in ("SELECT * FROM inner_v", "SELECT o.id FROM outer_v AS o"):
            with pytest.raises(CheckFailedToRun, match=r"view .*inner_v: .*grab\(\)"):
                engine.answer_user_query(UserQuery(query, 10, (new_db.name,)))
        assert not held(new_db, lock)
    _, rows = direct(new_db, "SELECT g FROM inner_v")  # the server itself would call it
    assert rows == [(1,)] * 3


def test_the_driver_sends_one_statement_per_call(server_db):
    with open_engine(server_db.dsn, SessionSettings()) as engine:
        cur = engine._conn.cursor()
        with pytest.raises(pymysql.MySQLError):
            cur.execute("SELECT 1; SELECT 2")


def test_lint_refuses_what_the_server_would_run_as_a_stored_function(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\nrules:\n  - id: a\n    check: sql\n    sql: SELECT TYPEOF(id) FROM t\n"
    )
    lint = ["rules", "lint", "--engine", "mysql", str(path)]
    result = CliRunner().invoke(cli, lint)
    assert result.exit_code == 2
    assert f"{path}:5:10: sql: function typeof() is not a built-in" in result.output
    path.write_text(
        "version: 1\nrules:\n  - id: a\n    check: sql\n    sql: SELECT LOWER(x) FROM t\n"
    )
    assert CliRunner().invoke(cli, lint).exit_code == 0
