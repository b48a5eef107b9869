"""SQL pieces the PostgreSQL engine composes its probes from (identifiers via psycopg.sql)."""

from __future__ import annotations

import re
from typing import Any, cast

from psycopg import sql

from restoregate.catalog import Reference, SequenceDef
from restoregate.engines.base import FutureKeys, SequencePosition
from restoregate.engines.postgres.catalog_loader import Operator
from restoregate.errors import CheckFailedToRun
from restoregate.names import QualifiedName

_OPERATOR = re.compile(r"[+\-*/<>=~!@#%^&|`?]{1,63}")


def relation(name: QualifiedName, partitioned: bool) -> sql.Composable:
    """A partitioned parent is read whole; a plain table alone (ONLY), as FKs see it."""
    ident = sql.Identifier(name.schema, name.name)
    return ident if partitioned else sql.SQL("ONLY ") + ident


def operator(schema: str, name: str) -> sql.Composable:
    if not _OPERATOR.fullmatch(name):
        raise CheckFailedToRun(f"refusing an equality operator with an unexpected name: {name!r}")
    return sql.SQL("OPERATOR({}.{})").format(sql.Identifier(schema), sql.SQL(cast("Any", name)))


def position(seq: SequenceDef, last_value: int, is_called: bool) -> SequencePosition:
    """What ``nextval()`` would return now; None when the sequence is exhausted."""
    candidate = last_value + seq.increment if is_called else last_value
    if seq.min_value <= candidate <= seq.max_value:
        return SequencePosition(candidate, last_value)
    if seq.cycle:
        return SequencePosition(seq.min_value if seq.ascending else seq.max_value, last_value)
    return SequencePosition(None, last_value)


def orphans(ref: Reference, operators: tuple[Operator, ...]) -> sql.Composable:
    """``FROM child c WHERE <key present> AND NOT EXISTS (<parent row>)``: an anti-join.

    MATCH SIMPLE skips a row with any NULL key column; MATCH FULL skips only an all-NULL
    key, and a partly NULL one can never match, so NOT EXISTS counts it as the violation
    it is.
    """
    present = [sql.SQL("{} IS NOT NULL").format(sql.Identifier("c", c)) for c in ref.child.columns]
    match = sql.SQL(" AND ").join(
        sql.SQL("{p} {op} {c}").format(
            p=sql.Identifier("p", p), op=operator(*op), c=sql.Identifier("c", c)
        )
        for c, p, op in zip(ref.child.columns, ref.parent.columns, operators, strict=True)
    )
    return sql.SQL(
        "FROM {child} AS c WHERE ({present})"
        " AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {match})"
    ).format(
        child=relation(ref.child.table, ref.child_partitioned),
        parent=relation(ref.parent.table, ref.parent_partitioned),
        present=sql.SQL(" OR " if ref.match_full else " AND ").join(present),
        match=match,
    )


def future_condition(future: list[FutureKeys]) -> sql.Composable:
    parts = [part for keys in future for part in future_parts(keys)]
    return sql.SQL(" OR ").join(parts) if parts else sql.SQL("false")


def future_parts(keys: FutureKeys) -> list[sql.Composable]:
    grids = [keys.first] + ([keys.restart] if keys.restart is not None else [])
    col = sql.Identifier("c", keys.child_column)
    parts: list[sql.Composable] = []
    for origin in grids:
        low, high = sorted((origin, keys.last))
        if keys.restart is None and (keys.first - keys.last) * keys.step > 0:
            continue  # exhausted: nothing left to hand out
        parts.append(
            sql.SQL(
                "({c} BETWEEN ({lo}) AND ({hi}) AND ({c}::pg_catalog.numeric - ({o})) % ({s}) = 0)"
            ).format(
                c=col,
                lo=sql.Literal(low),
                hi=sql.Literal(high),
                o=sql.Literal(origin),
                s=sql.Literal(abs(keys.step)),
            )
        )
    return parts
