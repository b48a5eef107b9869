"""The ``privileges`` check on MySQL/MariaDB: accounts and grants from information_schema.

An account is written ``user@host`` (``app@%``) or ``user`` (meaning ``user@%``); it
holds a privilege on a table when it is granted globally, on the database, or on the
table. Privileges reached only through MySQL 8 roles are not followed (not shown here).
The checking account needs SELECT on the ``mysql`` grant tables to see other accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from restoregate.catalog import Catalog
from restoregate.engines.base import MissingGrants
from restoregate.engines.mysql.queries import load

Rows = Callable[[str, str, Sequence[Any]], list[tuple[Any, ...]]]
Held = set[tuple[str, "str | None", str]]  # (level, object, privilege)
# the word the check uses -> the privilege MySQL grants for it
_TABLE = {"TRUNCATE": "DROP", "MAINTAIN": "ALTER"}
_SEQUENCE = {"USAGE": "INSERT", "UPDATE": "INSERT", "SELECT": "SELECT"}  # NEXTVAL needs INSERT


def grantee(account: str) -> str:
    user, _, host = account.partition("@")
    host = host or "%"
    return "'" + user.replace("'", "''") + "'@'" + host.replace("'", "''") + "'"


def roles_present(rows: Rows, accounts: Sequence[str]) -> set[str]:
    if not accounts:
        return set()
    wanted = {grantee(a): a for a in accounts}
    query = load("roles").replace("%(grantees)s", "(" + ", ".join(["%s"] * len(wanted)) + ")")
    found = rows("looking up accounts", query, list(wanted))
    return {wanted[str(r[0])] for r in found if str(r[0]) in wanted}


def missing(rows: Rows, request: MissingGrants, catalog: Catalog) -> list[tuple[str, str]]:
    schemas = list(request.schemas) or [catalog.server.database]
    held = _held(rows, grantee(request.role), schemas)
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


def _held(rows: Rows, who: str, schemas: list[str]) -> Held:
    marks = "(" + ", ".join(["%s"] * len(schemas)) + ")"
    query = load("grants").replace("%(grantee)s", "%s").replace("%(schemas)s", marks)
    params = [who, who, *schemas, who, *schemas]
    found = rows(f"checking {who}'s privileges", query, params)
    return {(str(r[0]), r[1], str(r[2]).upper()) for r in found}


def _has(
    held: set[tuple[str, str | None, str]], privilege: str, schema: str, table: str | None
) -> bool:
    levels = {("global", None), ("schema", schema)} | ({("table", table)} if table else set())
    return any(
        (level, obj, p) in held for level, obj in levels for p in (privilege, "ALL PRIVILEGES")
    )
