"""The ``privileges`` check on MySQL/MariaDB: accounts and grants from information_schema.

An account is written ``user@host`` (``app@%``) or ``user`` (meaning ``user@%``); it
holds a privilege on a table when it is granted globally, on the database, or on the
table, directly or through a role active at login (``roles_of.py``: MariaDB's default
role, MySQL 8's default roles, ``activate_all_roles_on_login`` and ``mandatory_roles``,
each followed through the roles granted to it). A bare name is also a MariaDB role
(``'name'@''``). information_schema shows an account only its own grants, so they are
read from the grant tables: ``mysql.db``, ``mysql.tables_priv``, the role tables, and
of ``mysql.user`` only User, Host, default_role and privilege columns, never a password:
the checking account needs SELECT on just those (README, MySQL and MariaDB).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from restoregate.catalog import Catalog
from restoregate.engines.base import MissingGrants
from restoregate.engines.mysql.queries import load
from restoregate.engines.mysql.roles_of import Account, active_roles

Rows = Callable[[str, str, Sequence[Any]], list[tuple[Any, ...]]]
Held = set[tuple[str, "str | None", "str | None", str]]  # (level, db, table, privilege)
# the word the check uses -> the privilege MySQL grants for it
_TABLE = {"TRUNCATE": "DROP", "MAINTAIN": "ALTER"}
_SEQUENCE = {"USAGE": "INSERT", "UPDATE": "INSERT", "SELECT": "SELECT"}  # NEXTVAL needs INSERT


def grantee(account: str) -> str:
    user, _, host = account.partition("@")
    return quoted((user, host or "%"))


def quoted(account: Account) -> str:
    """As information_schema's GRANTEE spells it: ``'user'@'host'``."""
    user, host = account
    return "'" + user.replace("'", "''") + "'@'" + host.replace("'", "''") + "'"


def accounts_of(name: str, mariadb: bool) -> list[Account]:
    """``user@host``; a bare name is ``name@%``, and on MariaDB also the role ``name``."""
    user, at, host = name.partition("@")
    if at:
        return [(user, host)]
    return [(user, "%"), (user, "")] if mariadb else [(user, "%")]


def roles_present(rows: Rows, accounts: Sequence[str], mariadb: bool = False) -> set[str]:
    if not accounts:
        return set()
    wanted = {a: name for name in accounts for a in accounts_of(name, mariadb)}
    query = load("roles").replace("%(grantees)s", _pairs(len(wanted)))
    found = rows("looking up accounts", query, [part for a in wanted for part in a])
    return {wanted[key] for r in found if (key := (str(r[0]), str(r[1]))) in wanted}


def missing(
    rows: Rows, request: MissingGrants, catalog: Catalog, mariadb: bool = False
) -> list[tuple[str, str]]:
    schemas = list(request.schemas) or [catalog.server.database]
    own = accounts_of(request.role, mariadb)
    through = [r for account in own for r in active_roles(rows, account, mariadb)]
    found_held = held(rows, list(dict.fromkeys([*own, *through])), schemas)
    found = []
    if request.object_kind == "schemas":
        for schema in schemas:
            for privilege in request.privileges:
                if privilege == "USAGE":
                    continue  # MySQL has no schema usage: any grant below reaches it
                if not holds(found_held, privilege, schema, None):
                    found.append((schema, privilege))
        return found
    words = _SEQUENCE if request.object_kind == "sequences" else _TABLE
    for name in request.objects:
        if request.object_kind == "sequences" and catalog.sequences[name].kind != "sequence":
            continue  # an AUTO_INCREMENT counter needs no grant of its own
        for privilege in request.privileges:
            if not holds(found_held, words.get(privilege, privilege), name.schema, name.name):
                found.append((str(name), privilege))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def held(rows: Rows, who: Sequence[Account], schemas: Sequence[str]) -> Held:
    """Every privilege the accounts hold globally, on a database (its pattern), or on a
    table of ``schemas``: from the grant tables, one query."""
    marks = "(" + ", ".join(["%s"] * len(schemas)) + ")"
    query = load("grants").replace("%(grantees)s", _pairs(len(who)))
    query = query.replace("%(schemas)s", marks)
    pairs = [part for account in who for part in account]
    params = [*pairs, *pairs, *pairs, *schemas]
    found = rows(f"checking {quoted(who[0])}'s privileges", query, params)
    return {
        (str(level), None if db is None else str(db), None if table is None else str(table), p)
        for level, db, table, privileges in found
        for p in (word.strip().upper() for word in str(privileges or "").split(","))
        if p
    }


def holds(found: Held, privilege: str, schema: str, table: str | None) -> bool:
    """Granted on everything, on a database whose pattern matches, or on the table."""
    for level, db, name, held_privilege in found:
        if held_privilege not in (privilege, "ALL PRIVILEGES"):
            continue
        if level == "global":
            return True
        if level == "schema" and db is not None and like(db, schema):
            return True
        if level == "table" and table is not None and db == schema and name == table:
            return True
    return False


def like(pattern: str, value: str) -> bool:
    """A database grant's name is a LIKE pattern (``app\\_%``): ``_`` and ``%`` are
    wildcards, a backslash escapes."""
    regex = "".join(
        re.escape(part[1])
        if part.startswith("\\")
        else ".*"
        if part == "%"
        else "."
        if part == "_"
        else re.escape(part)
        for part in re.findall(r"\\.|%|_|[^\\%_]+", pattern)
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _pairs(count: int) -> str:
    return "(" + ", ".join(["(%s, %s)"] * count) + ")"
