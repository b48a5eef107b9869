"""What a run judges: the tables, sequence feeds and references the rules put in scope.

This is also where the rules meet the catalog: a logical reference naming a table or
column that does not exist is a rules error (exit 2) pointing at its line, with the
closest real name as a suggestion.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from restoregate.catalog import Catalog, Column, Feed, Reference, Table
from restoregate.errors import NothingToJudge, RulesError
from restoregate.names import ColumnSet
from restoregate.probes import Probes
from restoregate.rules.ruleset import LogicalReference, Position, RuleSet


@dataclass(frozen=True)
class Scope:
    tables: tuple[Table, ...]
    feeds: tuple[Feed, ...]
    references: tuple[Reference, ...]
    partitions: tuple[Table, ...] = ()  # judged through their parents, listed for the catalog
    dismissed: tuple[tuple[ColumnSet, ColumnSet], ...] = ()  # not_references: not suspects


def resolve_scope(catalog: Catalog, rules: RuleSet, probes: Probes) -> Scope:
    tables = tuple(t for t in catalog.tables.values() if not t.partition and rules.in_scope(t.name))
    if not tables:
        raise NothingToJudge(_nothing_message(catalog, rules), _nothing_hint(catalog, rules))
    logical = _logical_references(catalog, rules, probes)
    declared = [
        fk
        for fk in catalog.foreign_keys
        if rules.in_scope(fk.child.table) and rules.in_scope(fk.parent.table)
    ]
    seen = {(fk.child, fk.parent) for fk in declared}
    references = declared + [r for r in logical if (r.child, r.parent) not in seen]
    feeds = tuple(f for f in catalog.feeds if rules.in_scope(f.table))
    partitions = tuple(t for t in catalog.tables.values() if t.partition and rules.in_scope(t.name))
    dismissed = tuple(_dismissed(catalog, rules))
    return Scope(tables, feeds, tuple(references), partitions, dismissed)


def _dismissed(catalog: Catalog, rules: RuleSet) -> list[tuple[ColumnSet, ColumnSet]]:
    """``not_references:`` entries, checked like references: every name must exist."""
    for ref in rules.not_references:
        _check_end(catalog, rules, ref.child, ref.child_position, "from")
        _check_end(catalog, rules, ref.parent, ref.parent_position, "to")
    return [(ref.child, ref.parent) for ref in rules.not_references]


def _nothing_message(catalog: Catalog, rules: RuleSet) -> str:
    where = f"database {catalog.server.database!r}"
    if rules.schemas is not None:
        where += f", schemas {', '.join(rules.schemas)}"
    return f"no tables to judge in {where}: a gate that judged nothing is not open"


def _nothing_hint(catalog: Catalog, rules: RuleSet) -> str:
    schemas = sorted({t.name.schema for t in catalog.tables.values()})
    if not schemas:
        return "is --dsn pointing at the right database? It holds no tables at all"
    return f"is --dsn pointing at the right database? Schemas with tables: {', '.join(schemas)}"


def _logical_references(catalog: Catalog, rules: RuleSet, probes: Probes) -> list[Reference]:
    """The rules' references, each column pair comparable (the engine decides how)."""
    refs = [_resolve(catalog, rules, ref) for ref in rules.references]
    if not refs:
        return []
    pairs = [
        (ref, c, p, source)
        for ref, source in zip(refs, rules.references, strict=True)
        for c, p in zip(ref.child.columns, ref.parent.columns, strict=True)
    ]
    verdicts = probes.comparable([(ref, c, p) for ref, c, p, _ in pairs])
    for (ref, c, p, source), comparable in zip(pairs, verdicts, strict=True):
        if not comparable:
            raise _incomparable(catalog, ref, c, p, source)
    return refs


def _incomparable(
    catalog: Catalog, ref: Reference, child: str, parent: str, source: LogicalReference
) -> RulesError:
    """No comparison the engine would make (text against uuid, say): a rules error."""
    c, p = _column(catalog, ref.child, child), _column(catalog, ref.parent, parent)
    return _error(
        source.position,
        f"{ref.child.table.column(child)} ({c.type_name}) cannot be compared with "
        f"{ref.parent.table.column(parent)} ({p.type_name})",
        "a reference joins columns the engine compares without an explicit cast "
        "(integers and decimals of any width, strings - on MySQL of the same collation -, "
        "uuids, times)",
    )


def _column(catalog: Catalog, cols: ColumnSet, name: str) -> Column:
    table = catalog.tables[cols.table]
    column = table.column(name)
    assert column is not None
    return column


def _resolve(catalog: Catalog, rules: RuleSet, ref: LogicalReference) -> Reference:
    child = _check_end(catalog, rules, ref.child, ref.child_position, "from")
    parent = _check_end(catalog, rules, ref.parent, ref.parent_position, "to")
    return Reference(
        child=ref.child,
        parent=ref.parent,
        declared=False,
        child_partitioned=child.partitioned,
        parent_partitioned=parent.partitioned,
    )


def _check_end(
    catalog: Catalog, rules: RuleSet, cols: ColumnSet, position: Position, key: str
) -> Table:
    table = catalog.tables.get(cols.table)
    if table is None:
        names = [str(n) for n in catalog.tables]
        raise _error(
            position,
            f"{key}: table {cols.table} does not exist",
            _did_you_mean(str(cols.table), names),
        )
    if not rules.in_scope(table.name):
        raise _error(
            position,
            f"{key}: table {cols.table} is outside the schemas in scope or excluded",
            "add its schema to `schemas:` or remove the exclude pattern that matches it",
        )
    for column in cols.columns:
        if table.column(column) is None:
            raise _error(
                position,
                f"{key}: column {table.name.column(column)} does not exist",
                _did_you_mean(column, [c.name for c in table.columns]),
            )
    return table


def _did_you_mean(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


def _error(position: Position, message: str, hint: str | None) -> RulesError:
    return RulesError(position.path, position.line, position.col, message, hint)
