"""The ``privileges`` check follows roles on MariaDB (real server; roles made per test).

An account holds what its default role holds (``SET DEFAULT ROLE``), and what every role
granted to that role holds; a role granted but not default gives nothing at login. MySQL
8's default roles, ``activate_all_roles_on_login`` and ``mandatory_roles`` are read by
the same code through ``role_edges.mysql.sql``; no MySQL 8 server runs here, so only the
parsing of ``mandatory_roles`` is tested without one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from restoregate import api
from restoregate.engines.mysql.roles_of import mandatory_roles
from tests.mysqltest import admin, databases, server_answers

pytestmark = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")


@pytest.fixture
def mydb():
    maker = databases(admin())
    make = next(maker)
    db = make()
    if "mariadb" not in str(db.scalar("SELECT VERSION()")).lower():
        pytest.skip("CREATE ROLE with SET DEFAULT ROLE FOR is tested on MariaDB here")
    db.execute("CREATE TABLE accounts (id int PRIMARY KEY); CREATE TABLE notes (id int);")
    yield db
    next(maker, None)


@pytest.fixture
def roles(mydb):
    """Two roles (rw holds inner) and two application accounts, dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = {
        "rw": f"rg_{tag}_rw",
        "inner": f"rg_{tag}_inner",
        "app": f"rg_{tag}_app",
        "other": f"rg_{tag}_other",
    }
    db = mydb.name
    mydb.execute(
        f"CREATE ROLE {names['inner']}; CREATE ROLE {names['rw']};"
        f"GRANT SELECT, INSERT ON `{db}`.* TO {names['inner']};"
        f"GRANT UPDATE ON `{db}`.`accounts` TO {names['rw']};"
        f"GRANT {names['inner']} TO {names['rw']};"
        f"CREATE USER '{names['app']}'@'%'; CREATE USER '{names['other']}'@'%';"
        f"GRANT {names['rw']} TO '{names['app']}'@'%';"
        f"GRANT {names['rw']} TO '{names['other']}'@'%';"
        f"SET DEFAULT ROLE {names['rw']} FOR '{names['app']}'@'%';"
    )
    try:
        yield names
    finally:
        mydb.execute(
            f"DROP USER IF EXISTS '{names['app']}'@'%'; DROP USER IF EXISTS '{names['other']}'@'%';"
            f"DROP ROLE IF EXISTS {names['rw']}; DROP ROLE IF EXISTS {names['inner']};"
        )


def run(db: Any, tmp: Path, roles_yaml: str) -> list[tuple[str, str | None, str, str | None]]:
    path = tmp / "rules.yaml"
    path.write_text(
        f"version: 1\nrules:\n  - id: grants\n    check: privileges\n    roles:\n{roles_yaml}"
    )
    report = api.run_check(
        f"mysql://root@{db.server.host}:{db.server.port}/{db.name}",
        rules=api.load_rules([path]),
    )
    found = []
    for v in report.rules[0].violations:
        d = v.to_dict()
        found.append((d["kind"], d.get("privilege"), d["role"], d.get("objects")))
    return sorted(found, key=str)


def test_privileges_through_a_default_role_and_the_roles_it_holds(mydb, roles, tmp_path):
    found = run(mydb, tmp_path, f"      {roles['app']}: {{tables: [SELECT, INSERT]}}\n")
    assert found == []


def test_a_table_grant_through_the_role_counts_for_that_table_only(mydb, roles, tmp_path):
    found = run(mydb, tmp_path, f"      {roles['app']}: {{tables: [UPDATE]}}\n")
    assert [(k, p) for k, p, _, _ in found] == [("missing_privilege", "UPDATE")]


def test_a_granted_role_that_is_not_default_gives_nothing_at_login(mydb, roles, tmp_path):
    found = run(mydb, tmp_path, f"      {roles['other']}: {{tables: [SELECT]}}\n")
    assert [(k, p) for k, p, _, _ in found] == [("missing_privilege", "SELECT")]


def test_a_role_named_itself(mydb, roles, tmp_path):
    found = run(
        mydb,
        tmp_path,
        f"      {roles['rw']}: {{tables: [SELECT, INSERT]}}\n"
        f"      {roles['inner']}: {{tables: [SELECT, DELETE]}}\n",
    )
    # rw holds inner's grants (granted to it); inner lacks DELETE; neither is missing
    assert [(k, p, r) for k, p, r, _ in found] == [("missing_privilege", "DELETE", roles["inner"])]


def test_without_the_role_the_privileges_are_missing(mydb, roles, tmp_path):
    mydb.execute(f"SET DEFAULT ROLE NONE FOR '{roles['app']}'@'%';")
    found = run(mydb, tmp_path, f"      {roles['app']}: {{tables: [SELECT]}}\n")
    assert [(k, p) for k, p, _, _ in found] == [("missing_privilege", "SELECT")]


def test_mandatory_roles_as_mysql_writes_them():
    assert mandatory_roles("") == []
    assert mandatory_roles("r1,r2@localhost, `r,3`@`%`,'r4'@'10.0.0.%'") == [
        ("r1", "%"),
        ("r2", "localhost"),
        ("r,3", "%"),
        ("r4", "10.0.0.%"),
    ]


def test_a_database_grant_is_a_like_pattern(mydb, roles, tmp_path):
    """``GRANT … ON `rg\\_abc%`.*`` reaches every database the pattern matches, as the
    server reads it; ``\\_`` is a literal underscore."""
    pattern = mydb.name[:-1].replace("_", "\\_") + "%"
    mydb.execute(f"GRANT DELETE ON `{pattern}`.* TO '{roles['other']}'@'%'")
    found = run(mydb, tmp_path, f"      {roles['other']}: {{tables: [DELETE]}}\n")
    assert found == []
    escaped_miss = mydb.name.replace("_", "x", 1)[:-1] + "%"  # rgx...: no longer matches
    mydb.execute(
        f"REVOKE DELETE ON `{pattern}`.* FROM '{roles['other']}'@'%';"
        f"GRANT DELETE ON `{escaped_miss}`.* TO '{roles['other']}'@'%'"
    )
    found = run(mydb, tmp_path, f"      {roles['other']}: {{tables: [DELETE]}}\n")
    assert [(k, p) for k, p, _, _ in found] == [("missing_privilege", "DELETE")]
    mydb.execute(f"REVOKE DELETE ON `{escaped_miss}`.* FROM '{roles['other']}'@'%'")
