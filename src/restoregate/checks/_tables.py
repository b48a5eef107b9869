"""Shared by checks whose rule names one table: parse it, then find it in the catalog."""

from __future__ import annotations

import difflib
from datetime import timedelta

from restoregate.catalog import Catalog, Table
from restoregate.durations import bounded
from restoregate.names import NameError_, QualifiedName, parse_identifier, parse_table
from restoregate.rules.ruleset import RuleSet

MAX_AGE_BOUNDS = (timedelta(seconds=1), timedelta(days=100 * 365))  # freshness max_age


def table_name(text: str) -> QualifiedName:
    """For ``__post_init__``: a malformed name is a rules error at load time."""
    try:
        return parse_table(text)
    except NameError_ as exc:
        raise ValueError(f"table: {text!r} is not a table name: {exc}") from None


def column_names(texts: tuple[str, ...], key: str = "columns") -> tuple[str, ...]:
    if not texts:
        raise ValueError(f"{key}: name at least one column")
    try:
        return tuple(parse_identifier(t) for t in texts)
    except NameError_ as exc:
        raise ValueError(f"{key}: not a column name: {exc}") from None


def duration(text: str) -> timedelta:
    """``max_age``: the one duration grammar (``durations.py``), from 1s to 100 years."""
    return bounded(text, "max_age", *MAX_AGE_BOUNDS)


def find_table(catalog: Catalog, rules: RuleSet, name: QualifiedName) -> Table:
    table = catalog.tables.get(name)
    if table is None:
        close = difflib.get_close_matches(str(name), [str(n) for n in catalog.tables], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"table {name} does not exist{hint}")
    if not rules.in_scope(name):
        raise ValueError(f"table {name} is outside the schemas in scope or excluded")
    return table


def find_columns(table: Table, names: tuple[str, ...]) -> None:
    for name in names:
        if table.column(name) is None:
            close = difflib.get_close_matches(name, [c.name for c in table.columns], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"column {table.name.column(name)} does not exist{hint}")
