"""The calls a rule's SQL makes, and which of them the rules file must allowlist.

Apart from ``sqlcheck`` (which parses with sqlglot) so that reading a rules file with
no SQL in it loads no parser (sqlglot takes 0.06 s to import).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from restoregate.names import QualifiedName, parse_table


@dataclass(frozen=True)
class Call:
    """A function call sqlglot found by name: ``schema`` is None when unqualified."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@cache
def builtins() -> dict[str, bool]:
    """Built-in function names -> True when every overload is volatile.

    ``data/pg_functions.txt`` is the union, over PostgreSQL 15 and 18, of ``SELECT proname,
    bool_and(provolatile = 'v') FROM pg_proc WHERE oid < 16384 AND pronamespace =
    'pg_catalog'::regnamespace GROUP BY 1`` (``v`` when true, ``s`` otherwise).
    """
    text = resources.files("restoregate.data").joinpath("pg_functions.txt").read_text("utf-8")
    return {name: kind == "v" for name, kind in (line.split() for line in text.splitlines())}


def unlisted_calls(calls: tuple[Call, ...], allowed: tuple[str, ...]) -> list[Call]:
    """Calls that can only reach a function of the database's own and are not allowlisted."""
    listed_names = {parse_table(a) for a in allowed}
    names = {n.name for n in listed_names}
    unlisted = []
    for call in calls:
        if call.schema in (None, "pg_catalog") and call.name in builtins():
            continue
        qualified = QualifiedName(call.schema, call.name) if call.schema else None
        listed = qualified in listed_names if qualified else call.name in names
        if not listed:
            unlisted.append(call)
    return unlisted
