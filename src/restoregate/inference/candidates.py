"""Which columns may be references, and to which keys: names rank, types must join.

A parent candidate is a single-column unique key (the primary key first) of any table,
partitioned ones included when every partition has the key. A child candidate is a
column of a joinable type (integers, numeric, uuid, text/varchar/bpchar) that no
foreign key or rule covers, that is not its own table's key and not fed by its own
table's sequence. Name evidence (``naming``) proposes parents across every schema;
when no name fits, a column named like a reference (``..._id``) is tried against the
surrogate keys of its own schema, and the data alone must decide.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from restoregate.catalog import Column, Reference, Table
from restoregate.inference import naming
from restoregate.names import ColumnSet, QualifiedName
from restoregate.scope import Scope

DATA_ONLY_PARENTS = 8  # surrogate keys tried by data alone, per column
NAMED_PARENTS = 6  # name-matched keys tried per column
# the engine-neutral type family (set by each engine's catalog loader) -> what joins with
# what: integers and decimals hold the same keys; times, floats and blobs are never keys
JOINABLE = {"integer": "number", "decimal": "number", "uuid": "uuid", "string": "string"}


@dataclass(frozen=True)
class Parent:
    table: Table
    key: Column
    score: int  # name evidence; 0: the data alone proposes it
    how: str  # what the names say, for the evidence text


@dataclass(frozen=True)
class Child:
    table: Table
    column: Column
    parents: tuple[Parent, ...]


def family(column: Column) -> str | None:
    return JOINABLE.get(column.family) if column.family is not None else None


def single_keys(table: Table) -> list[str]:
    return [k[0] for k in table.keys if len(k) == 1]


def children(scope: Scope, dismissed: Iterable[tuple[ColumnSet, ColumnSet]] = ()) -> list[Child]:
    """Every candidate child column with its ranked parents, in a stable order."""
    index = _Index(scope)
    covered = _covered(scope)
    refused = {(c.table, c.columns[0], p.table, p.columns[0]) for c, p in dismissed}
    fed = {(f.table, f.column) for f in scope.feeds if f.sequence is not None}
    found = []
    for table in scope.tables:
        for column in table.columns:
            if family(column) is None or table.primary_key == (column.name,):
                continue
            if (table.name, column.name) in covered or (table.name, column.name) in fed:
                continue
            parents = [
                p
                for p in index.parents(table, column)
                if (table.name, column.name, p.table.name, p.key.name) not in refused
            ]
            if parents:
                found.append(Child(table, column, tuple(parents)))
    return found


def _covered(scope: Scope) -> set[tuple[QualifiedName, str]]:
    """Child columns a reference already judges (on a partition: on its parent too)."""
    tables = {t.name: t for t in (*scope.tables, *scope.partitions)}
    covered: set[tuple[QualifiedName, str]] = set()
    for ref in scope.references:
        name: QualifiedName | None = ref.child.table
        while name is not None:
            covered.update((name, c) for c in ref.child.columns)
            table = tables.get(name)
            name = table.partition_of if table is not None else None
    return covered


class _Index:
    """Parents by name, built once: lookups per column stay flat in schema size."""

    def __init__(self, scope: Scope) -> None:
        self.by_words: dict[tuple[str, ...], list[Table]] = defaultdict(list)
        self.by_head: dict[str, list[Table]] = defaultdict(list)
        self.by_key: dict[str, list[Table]] = defaultdict(list)
        self.surrogates: dict[str, list[tuple[str, Table, Column]]] = defaultdict(list)
        fed = {(f.table, f.column) for f in scope.feeds if f.sequence is not None}
        for table in scope.tables:
            keys = single_keys(table)
            if not keys:
                continue
            words = naming.normal(table.name.name)
            self.by_words[words].append(table)
            if words:
                self.by_head[words[-1]].append(table)
            for key in keys:
                self.by_key[key].append(table)
            primary = table.column(keys[0])
            if primary is not None and ((table.name, primary.name) in fed or primary.name == "id"):
                self.surrogates[table.name.schema].append((table.name.name, table, primary))
        for entries in self.surrogates.values():
            entries.sort(key=lambda e: e[0])
        # tables of people: users, accounts, ... and any named by an agent noun (editor)
        self.people = naming.PEOPLE | {h for h in self.by_head if naming.agent(h)}

    def parents(self, table: Table, column: Column) -> list[Parent]:
        words, suffixed = naming.stem(column.name)
        named = self._named(table, column, words)
        if named:
            # equal evidence: the same schema, then by name (never the order of a set)
            named.sort(
                key=lambda p: (
                    -p.score,
                    p.table.name.schema != table.name.schema,
                    str(p.table.name),
                    p.key.name,
                )
            )
            return named[:NAMED_PARENTS]
        if suffixed and family(column) in ("number", "uuid") and not column.key:
            # in a unique key of its own table and named after no other table: more likely
            # an identifier of its own rows (a counter, an external id) than a reference
            return self._by_data(table, column, words)
        return []

    def _named(self, table: Table, column: Column, words: tuple[str, ...]) -> list[Parent]:
        """Parents the name proposes. A bare name (no ``_id``) must name the table itself
        (``artist``, ``begin_area``, ``artist.type`` -> ``artist_type``); the own table
        only when the name says so (``parent_id``) or adds a role (``parent_category_id``).
        """
        suffixed = naming.stem(column.name)[1]
        found: dict[tuple[QualifiedName, str], Parent] = {}
        for parent in self._tables_named(words, table):
            score, how, kind = naming.table_score(words, parent, table)
            if not score or not (suffixed or naming.bare_names(column.name, parent, kind)):
                continue
            if parent.name == table.name and kind in ("exact", "sibling", "context", "prefixed"):
                continue  # reactions.reaction_id, auth_user_groups.group_id: not their own
            self._add(found, table, column, parent, score, how)
        if suffixed and column.name != "id":
            for parent in self.by_key.get(column.name, []):
                score, how, _ = naming.table_score(words, parent, table)
                how = "it has the name of {parent}'s key" + (f" and {how}" if how else "")
                self._add(found, table, column, parent, naming.KEY_NAME + score, how)
        if naming.self_named(column.name):
            how = "its name says it points at its own table"
            self._add(found, table, column, table, naming.SELF, how)
        linked = self._linked(table, column)
        if linked is not None:
            how = "its number picks {parent} among the tables " + str(table.name) + " joins"
            self._add(found, table, column, linked, naming.ROLE, how)
        if not found and suffixed:
            owner = self._owner(table)
            if owner is not None:
                how = str(table.name) + " is named after {parent}, which owns its rows"
                self._add(found, table, column, owner, naming.HEAD, how)
        return list(found.values())

    def _segments(self, table: Table) -> list[Table]:
        """The tables a link table's name joins: ``l_artist_url`` -> artist, url."""
        parts, found, at = naming.words(table.name.name), [], 0
        while at < len(parts):
            for end in range(len(parts), at, -1):
                piece = (*parts[at : end - 1], naming.singular(parts[end - 1]))
                tables = [t for t in self.by_words.get(piece, []) if t.name != table.name]
                if tables:
                    same = [t for t in tables if t.name.schema == table.name.schema]
                    found.append((same or tables)[0])
                    at = end
                    break
            else:
                at += 1
        return found

    def _linked(self, table: Table, column: Column) -> Table | None:
        """``entity0``/``entity1`` (or ``..._1``/``..._2``) in a table named after two tables."""
        parts = naming.words(column.name)
        digit = parts[-1][-1:] if parts else ""
        if not digit.isdigit() or (parts[-1] == digit and len(parts) == 1):
            return None
        segments = self._segments(table)
        if len(segments) < 2:
            return None
        base = column.name[:-1]
        zero = table.column(base + "0") is not None
        index = int(digit) - (0 if zero else 1)
        return segments[index] if 0 <= index < len(segments) else None

    def _owner(self, table: Table) -> Table | None:
        """The table this one is named after (``artist_gid_redirect`` -> ``artist``)."""
        parts = naming.words(table.name.name)
        for end in range(len(parts) - 1, 0, -1):
            piece = (*parts[: end - 1], naming.singular(parts[end - 1]))
            owners = [t for t in self.by_words.get(piece, []) if t.name != table.name]
            if owners:
                same = [t for t in owners if t.name.schema == table.name.schema]
                return (same or owners)[0]
        return None

    def _tables_named(self, words: tuple[str, ...], own: Table) -> set[Table]:
        if not words:
            return set()
        head = naming.singular(words[-1])
        want = (*words[:-1], head)
        tables: set[Table] = set()
        for start in range(len(want)):
            tables.update(self.by_words.get(want[start:], []))
        mine = naming.words(own.name.name)
        for k in range(1, len(mine)):  # siblings: track_raw.release -> release_raw
            tables.update(self.by_words.get((*want, *mine[k:]), []))
        tables.update(self.by_head.get(head, []))
        if naming.agent(head):
            for person in self.people:
                tables.update(self.by_head.get(person, []))
        return tables

    def _add(
        self,
        found: dict[tuple[QualifiedName, str], Parent],
        table: Table,
        column: Column,
        parent: Table,
        score: int,
        how: str,
    ) -> None:
        """Each joinable single-column key of the parent: the same-named one, else the
        primary key, ranks first (``login_session_id`` may hold ``login_sessions.login_id``).
        """
        for rank, key in enumerate(_keys_for(parent, column)):
            if parent.name == table.name and key.name == column.name:
                continue
            if family(key) != family(column):
                continue
            best = found.get((parent.name, key.name))
            points = score * 2 - min(rank, 1)
            if best is None or best.score < points:
                text = how.replace("{parent}", str(parent.name))
                found[(parent.name, key.name)] = Parent(parent, key, points, text)

    def _by_data(self, table: Table, column: Column, words: tuple[str, ...]) -> list[Parent]:
        entries = self.surrogates.get(table.name.schema, [])
        target = "_".join(words)
        middle = bisect.bisect_left(entries, target, key=lambda e: e[0])
        nearby = entries[max(0, middle - DATA_ONLY_PARENTS) : middle + DATA_ONLY_PARENTS]
        ranked = sorted(nearby, key=lambda e: _distance(target, e[0]))
        if len(entries) <= 4 * DATA_ONLY_PARENTS:
            ranked = sorted(entries, key=lambda e: _distance(target, e[0]))
        found = []
        for _, parent, key in ranked:
            if parent.name == table.name or family(key) != family(column):
                continue
            found.append(Parent(parent, key, 0, f"no table is named after {column.name}"))
            if len(found) == DATA_ONLY_PARENTS:
                break
        return found


def _key_for(parent: Table, column: Column) -> Column | None:
    """The parent's key the column would hold: one of the same name, else the primary."""
    keys = _keys_for(parent, column)
    return keys[0] if keys else None


def _keys_for(parent: Table, column: Column) -> list[Column]:
    keys = single_keys(parent)
    if column.name in keys:
        keys.remove(column.name)
        keys.insert(0, column.name)
    found = [parent.column(k) for k in keys]
    return [c for c in found if c is not None]


def _distance(a: str, b: str) -> tuple[int, str]:
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return (-common, b)


def reference(child: Child, parent: Parent) -> Reference:
    return Reference(
        child=ColumnSet(child.table.name, (child.column.name,)),
        parent=ColumnSet(parent.table.name, (parent.key.name,)),
        declared=False,
        child_partitioned=child.table.partitioned,
        parent_partitioned=parent.table.partitioned,
    )
