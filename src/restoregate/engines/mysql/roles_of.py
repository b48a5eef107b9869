"""The roles active when an account logs in, followed through roles granted to roles.

MariaDB: the account's default role (``SET DEFAULT ROLE r FOR a``; one at most) and
every role granted to it, transitively (``mysql.roles_mapping``, a role's Host is '').
MySQL 8: the default roles (``mysql.default_roles``); with
``activate_all_roles_on_login`` every granted role (``mysql.role_edges``) and the
``mandatory_roles``, which count as granted to every account; then transitively. A role
granted but neither default nor activated at login gives nothing until the application
runs ``SET ROLE``, which restoregate cannot know: it is not followed. A MariaDB role
named itself holds what the roles granted to it hold. One query; the checking account
needs SELECT on those ``mysql`` tables (and on mysql.user's User, Host, default_role).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from restoregate.engines.mysql.queries import load

Rows = Callable[[str, str, Sequence[Any]], list[tuple[Any, ...]]]
Account = tuple[str, str]  # (user, host); a MariaDB role's host is ''
_PART = re.compile(r"""\s*(`(?:[^`]|``)*`|'(?:[^']|'')*'|"(?:[^"]|"")*"|[^@,\s]+)""")


def active_roles(rows: Rows, account: Account, mariadb: bool) -> list[Account]:
    """The roles the account's privileges come through at login, nearest first."""
    found = rows(
        "reading role grants",
        load("role_edges.mariadb" if mariadb else "role_edges.mysql"),
        (),
    )
    edges: dict[Account, list[Account]] = {}
    defaults: dict[Account, list[Account]] = {}
    settings: dict[str, str] = {}
    for what, user, host, role_user, role_host in found:
        holder, role = (str(user), str(host or "")), (str(role_user), str(role_host or ""))
        if what == "edge":
            edges.setdefault(holder, []).append(role)
        elif what == "default":
            defaults.setdefault(holder, []).append(role)
        else:
            settings[str(user)] = str(role_user or "")
    if mariadb and account[1] == "":
        start = edges.get(account, [])  # a role holds what the roles granted to it hold
    elif mariadb:
        start = defaults.get(account, [])
    else:
        start = list(defaults.get(account, []))
        if settings.get("activate_all_roles_on_login", "0").upper() in ("1", "ON"):
            start += edges.get(account, []) + mandatory_roles(settings.get("mandatory_roles", ""))
    return _closure(start, edges)


def _closure(start: list[Account], edges: dict[Account, list[Account]]) -> list[Account]:
    seen: list[Account] = []
    todo = list(start)
    while todo:
        role = todo.pop(0)
        if role in seen:
            continue
        seen.append(role)
        todo.extend(edges.get(role, []))
    return seen


def mandatory_roles(text: str) -> list[Account]:
    """``mandatory_roles`` as MySQL writes it: ``r1,r2@host,`r3`@`%```; the host defaults
    to ``%``."""
    found: list[Account] = []
    for item in (part.strip() for part in _split(text)):
        if not item:
            continue
        user, _, host = _unquote_pair(item)
        found.append((user, host or "%"))
    return found


def _split(text: str) -> list[str]:
    parts, current, quote = [], "", ""
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "`'\"":
            quote = ch
            current += ch
        elif ch == ",":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _unquote_pair(item: str) -> tuple[str, str, str]:
    first = _PART.match(item)
    if first is None:
        return item, "", ""
    user = _unquote(first.group(1))
    rest = item[first.end() :].strip()
    if not rest.startswith("@"):
        return user, "", ""
    second = _PART.match(rest[1:])
    return user, "@", _unquote(second.group(1)) if second else ""


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "`'\"":
        q = word[0]
        return word[1:-1].replace(q + q, q)
    return word
