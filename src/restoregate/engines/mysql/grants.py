"""The ``privileges`` check on MySQL/MariaDB: accounts and grants from information_schema.

An account is written ``user@host`` (``app@%``) or ``user`` (meaning ``user@%``); it
holds a privilege on a table when it is granted globally, on the database, or on the
table, directly or through a role active at login (``roles_of.py``: MariaDB's default
role, MySQL 8's default roles, ``activate_all_roles_on_login`` and ``mandatory_roles``,
each followed through the roles granted to it). A bare name is also a MariaDB role
(``'name'@''``). The checking account needs SELECT on the ``mysql`` grant tables to see
other accounts and the role grants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from restoregate.catalog import Catalog
from restoregate.engines.base import MissingGrants
from restoregate.engines.mysql.queries import load
from restoregate.engines.mysql.roles_of import Account, active_roles

Rows = Callable[[str, str, Sequence[Any]], list[tuple[Any, ...]]]
Held = set[tuple[str, "str | None", str]]  # (level, object, privilege)
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
    wanted = {quoted(a): name for name in accounts for a in accounts_of(name, mariadb)}
    query = load("roles").replace("%(grantees)s", "(" + ", ".join(["%s"] * len(wanted)) + ")")
    found = rows("looking up accounts", query, list(wanted) * 3)
    return {wanted[str(r[0])] for r in found if str(r[0]) in wanted}


def missing(
    rows: Rows, request: MissingGrants, catalog: Catalog, mariadb: bool = False
) -> list[tuple[str, str]]:
    schemas = list(request.schemas) or [catalog.server.database]
    own = accounts_of(request.role, mariadb)
    through = [r for account in own for r in active_roles(rows, account, mariadb)]
    held = _held(rows, [quoted(a) for a in dict.fromkeys([*own, *through])], schemas)
    found = []
    if request.object_kind == "schemas":
        for schema in schemas:
            for privilege in request.privileges:
                if privilege == "USAGE":
                    continue  # MySQL has no schema usage: any grant below reaches it
                if not _has(held, privilege, schema, None):
                    found.append((schema, privilege))
        return found
    words = _SEQUENCE if request.object_kind == "sequences" else _TABLE
    for name in request.objects:
        if request.object_kind == "sequences" and catalog.sequences[name].kind != "sequence":
            continue  # an AUTO_INCREMENT counter needs no grant of its own
        for privilege in request.privileges:
            if not _has(
                held, words.get(privilege, privilege), name.schema, f"{name.schema}.{name.name}"
            ):
                found.append((str(name), privilege))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def _held(rows: Rows, who: list[str], schemas: list[str]) -> Held:
    marks = "(" + ", ".join(["%s"] * len(schemas)) + ")"
    grantees = "(" + ", ".join(["%s"] * len(who)) + ")"
    query = load("grants").replace("%(grantees)s", grantees).replace("%(schemas)s", marks)
    params = [*who, *who, *schemas, *who, *schemas]
    found = rows(f"checking {who[0]}'s privileges", query, params)
    return {(str(r[0]), r[1], str(r[2]).upper()) for r in found}


def _has(
    held: set[tuple[str, str | None, str]], privilege: str, schema: str, table: str | None
) -> bool:
    levels = {("global", None), ("schema", schema)} | ({("table", table)} if table else set())
    return any(
        (level, obj, p) in held for level, obj in levels for p in (privilege, "ALL PRIVILEGES")
    )
