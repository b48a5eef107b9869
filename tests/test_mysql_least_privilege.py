"""The README's least-privilege account on MariaDB, granted exactly as the README says.

The `privileges` check (roles followed) runs with it, and no rule can read a password
hash: `mysql.global_priv` and the password columns of `mysql.user` are denied, so such a
`sql` rule is an error (exit 3). Statements are taken from the README's recipe itself,
so the test and the documentation cannot drift apart.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from tests.mysqltest import admin, databases, recipe, server_answers

pytestmark = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")


@pytest.fixture
def account():
    """A database and an account holding exactly the recipe's grants (appdb: this one)."""
    maker = databases(admin())
    db = next(maker)()
    if "mariadb" not in str(db.scalar("SELECT VERSION()")).lower():
        pytest.skip("the recipe's MariaDB lines are tested here")
    tag = uuid.uuid4().hex[:8]
    user, password = f"rg_{tag}_gate", f"pw-{uuid.uuid4().hex}"
    app, role = f"rg_{tag}_app", f"rg_{tag}_rw"
    db.execute(
        "CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts VALUES (1);"
        f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';"
        f"CREATE USER '{app}'@'%' IDENTIFIED BY 'x'; CREATE ROLE {role};"
        f"GRANT SELECT, INSERT ON `{db.name}`.* TO {role}; GRANT {role} TO '{app}'@'%';"
        f"SET DEFAULT ROLE {role} FOR '{app}'@'%';"
    )
    for statement in recipe():
        db.execute(
            statement.replace("'restoregate'@'%'", f"'{user}'@'%'").replace(
                "appdb.*", f"`{db.name}`.*"
            )
        )
    dsn = f"mysql://{user}:{password}@{db.server.host}:{db.server.port}/{db.name}"
    try:
        yield {"dsn": dsn, "db": db, "app": app, "role": role, "user": user}
    finally:
        db.execute(
            f"DROP USER IF EXISTS '{user}'@'%'; DROP USER IF EXISTS '{app}'@'%';"
            f"DROP ROLE IF EXISTS {role};"
        )
        next(maker, None)


def check(dsn: str, tmp: Path, rules: str) -> tuple[int, dict[str, Any]]:
    path = tmp / "rules.yaml"
    path.write_text("version: 1\nrules:\n" + rules)
    result = CliRunner().invoke(
        cli, ["check", "--dsn", dsn, "--rules", str(path), "--format", "json"]
    )
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def test_the_recipe_grants_no_password_table():
    grants = recipe()
    assert any("mysql.roles_mapping" in g for g in grants)
    assert not any(re.search(r"ON mysql\.\*", g) for g in grants)
    assert not any("global_priv" in g or "authentication_string" in g for g in grants)


def test_the_privileges_check_runs_and_follows_roles_with_the_recipe(account, tmp_path):
    rules = (
        "  - id: grants\n    check: privileges\n    roles:\n"
        f"      {account['app']}: {{tables: [SELECT, INSERT]}}\n"
        f"      {account['user']}: {{tables: [SELECT]}}\n"
    )
    code, doc = check(account["dsn"], tmp_path, rules)
    assert code == 0, doc
    assert doc["rules"][0]["status"] == "pass"
    code, doc = check(account["dsn"], tmp_path, rules.replace("SELECT, INSERT", "DELETE"))
    assert code == 1, doc
    found = [(v["kind"], v.get("privilege")) for v in doc["rules"][0]["violations"]]
    assert found == [("missing_privilege", "DELETE")]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM mysql.global_priv",
        "SELECT Password FROM mysql.user",
        "SELECT authentication_string FROM mysql.user",
        "SELECT * FROM mysql.user",
    ],
)
def test_a_rule_cannot_read_a_password_hash(account, tmp_path, query):
    code, doc = check(
        account["dsn"], tmp_path, f"  - id: hashes\n    check: sql\n    sql: {query}\n"
    )
    assert code == 3, doc
    result = doc["rules"][0]
    assert result["status"] == "error"
    # global_priv: the server denies it; mysql.user is a view on MariaDB, refused already
    # because the account cannot read its definition (and the server would deny it too)
    denied = "global_priv" in query and "SELECT command denied" in result["message"]
    refused = "cannot read the definition of view mysql.user" in result["message"]
    assert denied or ("mysql.user" in query and refused), result["message"]
    assert "*" not in json.dumps(result.get("violations", []))


def test_the_server_denies_the_password_columns_to_the_recipe(account):
    server = account["db"].server
    dsn = account["dsn"]
    password = dsn.split(":")[2].split("@")[0]
    conn = pymysql.connect(
        host=server.host, port=server.port, user=account["user"], password=password
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT User, Host, Select_priv, default_role FROM mysql.user LIMIT 1")
            for query in (
                "SELECT Password FROM mysql.user",
                "SELECT authentication_string FROM mysql.user",
                "SELECT Priv FROM mysql.global_priv",
            ):
                with pytest.raises(pymysql.err.OperationalError, match="command denied"):
                    cur.execute(query)
    finally:
        conn.close()


def test_without_the_mysql_grants_privileges_is_an_error_naming_the_table(account, tmp_path):
    account["db"].execute(f"REVOKE SELECT ON mysql.roles_mapping FROM '{account['user']}'@'%'")
    rules = (
        "  - id: grants\n    check: privileges\n    roles:\n"
        f"      {account['app']}: {{tables: [SELECT]}}\n"
        "  - {id: rows, check: row_count, table: accounts, min: 1}\n"
    )
    code, doc = check(account["dsn"], tmp_path, rules)
    assert code == 3, doc
    by_id = {r["id"]: r for r in doc["rules"]}
    assert by_id["grants"]["status"] == "error"
    assert "roles_mapping" in by_id["grants"]["message"]
    assert by_id["rows"]["status"] == "pass"
