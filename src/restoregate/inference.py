"""Finding references nobody declared: names propose, a data sample confirms.

A candidate child column is an integer or uuid column named like a reference
(``user_id``, ``customerId``, ``order_ref``) that no foreign key or rule covers. Its
candidate parents are the key columns (sequence-fed, or named ``id``) of tables whose
name matches the stem (``user`` -> ``users``, ``app_users``; same schema first); when no
name matches, the keys of the other tables in its schema, where the data must speak
louder (enough distinct values). One sampled query per candidate column counts how
many sampled values each parent key holds; the best parent above ``min_match`` is the
suspect.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from restoregate.catalog import Catalog, Column, Reference, Table
from restoregate.names import ColumnSet, QualifiedName
from restoregate.probes import Probes
from restoregate.scope import Scope

SUFFIXES = ("_id", "_ref", "_fk", "_key", "id")
SAMPLE = 2000
DATA_ONLY_PARENTS = 15  # parents tried by data alone, per column, when no name matches
DATA_ONLY_DISTINCT = 10  # distinct sampled values needed to trust data alone


@dataclass(frozen=True)
class Suspect:
    reference: Reference
    sampled: int
    matched: int
    by_name: bool

    @property
    def evidence(self) -> str:
        how = "the names match" if self.by_name else "no table is named after the column"
        return (
            f"{self.matched:,} of {self.sampled:,} sampled values match "
            f"{self.reference.parent.table.column(self.reference.parent.columns[0])}; {how}"
        )


def stem(name: str) -> str | None:
    lowered = name.lower()
    for suffix in SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return lowered[: -len(suffix)].rstrip("_") or None
    return None


def _forms(word: str) -> set[str]:
    forms = {word, word + "s", word + "es"}
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    return forms


def _named_after(table: Table, word: str) -> bool:
    name = table.name.name.lower()
    return any(name == f or name.endswith("_" + f) for f in _forms(word))


def _compatible(child: Column, parent: Column) -> bool:
    return (child.numeric and parent.numeric) or child.base_type == parent.base_type


def parent_keys(catalog: Catalog, scope: Scope) -> list[tuple[Table, Column]]:
    fed = {(f.table, f.column) for f in scope.feeds if f.sequence and not f.uncheckable}
    keys = []
    for table in scope.tables:
        for column in table.columns:
            if column.key and ((table.name, column.name) in fed or column.name == "id"):
                keys.append((table, column))
    return keys


def candidates(
    catalog: Catalog, scope: Scope
) -> list[tuple[Table, Column, list[tuple[Table, Column, bool]]]]:
    """(child table, child column, [(parent table, parent key, matched by name)])."""
    covered = {(r.child.table, c) for r in scope.references for c in r.child.columns}
    keys = parent_keys(catalog, scope)
    key_set = {(t.name, c.name) for t, c in keys}
    found = []
    for table in scope.tables:
        for column in table.columns:
            word = stem(column.name)
            if word is None or (table.name, column.name) in covered | key_set:
                continue
            if not (column.numeric or column.base_type == "uuid"):
                continue
            parents = _parents_for(table, column, word, keys)
            if parents:
                found.append((table, column, parents))
    return found


def _parents_for(
    table: Table, column: Column, word: str, keys: list[tuple[Table, Column]]
) -> list[tuple[Table, Column, bool]]:
    usable = [(t, c) for t, c in keys if _compatible(column, c)]
    named = [(t, c) for t, c in usable if _named_after(t, word)]
    if named:
        named.sort(key=lambda tc: (tc[0].name.schema != table.name.schema, str(tc[0].name)))
        return [(t, c, True) for t, c in named[:3]]
    same_schema = [
        (t, c) for t, c in usable if t.name.schema == table.name.schema and t.name != table.name
    ]
    same_schema.sort(
        key=lambda tc: -difflib.SequenceMatcher(None, word, tc[0].name.name.lower()).ratio()
    )
    return [(t, c, False) for t, c in same_schema[:DATA_ONLY_PARENTS]]


def infer(
    catalog: Catalog,
    scope: Scope,
    probes: Probes,
    min_match: float,
    tables: Callable[[QualifiedName], bool] | None = None,
) -> list[Suspect]:
    """The suspected references, best parent per column, confirmed by a sample."""
    suspects = []
    for table, column, parents in candidates(catalog, scope):
        if tables is not None and not tables(table.name):
            continue
        found = probes.sample_matches(
            table.name, column.name, [(t.name, c.name) for t, c, _ in parents], SAMPLE
        )
        sampled, distinct, matches = found.sampled, found.distinct, found.matches
        if not sampled:
            continue
        best = _best(parents, matches, sampled, distinct, min_match)
        if best is None:
            continue
        parent, key, by_name, matched = best
        ref = Reference(
            child=ColumnSet(table.name, (column.name,)),
            parent=ColumnSet(parent.name, (key.name,)),
            declared=False,
            child_partitioned=table.partitioned,
            parent_partitioned=parent.partitioned,
        )
        suspects.append(Suspect(ref, sampled, matched, by_name))
    return suspects


def _best(
    parents: list[tuple[Table, Column, bool]],
    matches: list[int],
    sampled: int,
    distinct: int,
    min_match: float,
) -> tuple[Table, Column, bool, int] | None:
    ranked = sorted(
        ((t, c, named, m) for (t, c, named), m in zip(parents, matches, strict=True)),
        key=lambda item: (-item[2], -item[3]),
    )
    for parent, key, named, matched in ranked:
        if matched / sampled < min_match:
            continue
        if not named and distinct < DATA_ONLY_DISTINCT:
            continue  # a handful of small codes matches any dense key range
        return parent, key, named, matched
    return None
