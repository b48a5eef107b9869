"""The MySQL/MariaDB engine: one aggregate per request, inside one consistent snapshot.

Identifiers are quoted with backticks (a backtick doubled); every value is a driver
parameter. The only user text that runs is a ``sql`` rule's query or a ``unique`` rule's
expression, never as written: ``vetting.py`` sends the text it generated from the vetted
tree (an allowlist of side-effect-free built-ins, no comments), inside a READ ONLY
transaction, and checks the session's parsing settings after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import Any

import pymysql

from restoregate.catalog import Catalog, Column, SequenceDef
from restoregate.engines import portable_sql
from restoregate.engines.base import (
    Comparable,
    HealthItem,
    Inventory,
    MissingGrants,
    RolesPresent,
    SequencePosition,
    SequencePositionOf,
)
from restoregate.engines.mysql import grants, vetting
from restoregate.engines.mysql.catalog_loader import Collations, quote, read_catalog, table_sql
from restoregate.engines.mysql.dsn import parse
from restoregate.engines.mysql.errors import translate
from restoregate.engines.mysql.queries import load
from restoregate.engines.mysql.session import connect
from restoregate.engines.portable import (
    PortableEngine,
    Positions,
    Rows,
    refuse_snapshot,
    same_family,
)
from restoregate.errors import CheckFailedToRun
from restoregate.names import QualifiedName
from restoregate.settings import SessionSettings

FLAVOUR = portable_sql.Flavour(quote, "%s", "DECIMAL(65,0)")


@contextmanager
def open_engine(
    dsn: str | None, settings: SessionSettings, snapshot: str | None = None
) -> Iterator[MysqlEngine]:
    """Connect, open one READ ONLY consistent snapshot, and roll it back at the end."""
    refuse_snapshot(snapshot, "MySQL")
    target = parse(dsn or "")
    conn, mariadb = connect(target, settings)
    try:
        yield MysqlEngine(conn, mariadb, target.shown(), settings)
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


class MysqlEngine(PortableEngine):
    health_items = ("unlogged",)
    dialect = "mysql"
    flavour = FLAVOUR
    driver_error = pymysql.MySQLError

    def __init__(self, conn: Any, mariadb: bool, target: str, settings: SessionSettings) -> None:
        self._conn = conn
        self.name = "mariadb" if mariadb else "mysql"
        self._target = target
        self._settings = settings
        self._catalog: Catalog | None = None
        self._collations: Collations = {}

    @property
    def target(self) -> str:
        return self._target

    @property
    def _mariadb(self) -> bool:
        return self.name == "mariadb"

    # ----- the portable engine's hooks ---------------------------------------------------

    def translate(self, exc: Exception, what: str) -> CheckFailedToRun:
        assert isinstance(exc, pymysql.MySQLError)
        return translate(exc, what, self._settings)

    def execute(self, query: str, params: Sequence[Any] = ()) -> tuple[Rows, list[str]]:
        with self._conn.cursor() as cur:
            cur.execute(query, tuple(params) or None)  # None: the driver leaves % alone
            rows = [tuple(r) for r in cur.fetchall()]
            return rows, [d[0] for d in cur.description or []]

    def load_catalog(self) -> Catalog:
        catalog, self._collations = read_catalog(self._conn, self._mariadb)
        return catalog

    def expression_sql(self, text: str) -> str:
        return self._vetted(vetting.expression_text, text)

    def query_sql(self, text: str) -> str:
        """The text generated from the vetted tree, and every view it reads vetted too."""
        query = self._vetted(vetting.query_text, text)
        self._vet_views(query)
        return query

    def user_scope(self, what: str) -> AbstractContextManager[None]:
        return self._user_probe(what)

    def timestamp(self, value: Any) -> datetime | None:
        """The session's time_zone is UTC: TIMESTAMP values come out in UTC, DATETIME as is."""
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    def joinable(self, request: Comparable, child: Column, parent: Column) -> bool:
        """By family (integers and decimals compare with each other); strings, and anything
        else with a collation, only under the same collation: ``=`` across two collations is
        an "Illegal mix of collations" error, or silently judged under one that is not the
        parent key's (``utf8mb4_bin`` wins over ``utf8mb4_general_ci``). Columns of no
        family (``BINARY(16)``, floats, enums) join when their types are the same."""
        child_collation = self._collations.get((request.child.table, child.name))
        if child_collation != self._collations.get((request.parent.table, parent.name)):
            return False
        return same_family(child, parent)

    # ----- sequence positions ------------------------------------------------------------

    def positions(self, requests: list[SequencePositionOf]) -> Positions:
        """AUTO_INCREMENT counters read fresh from information_schema; SEQUENCE tables read."""
        seqs = [self._model.sequences[r.sequence] for r in requests]
        try:
            values = self._counter_values([s for s in seqs if s.kind == "auto_increment"])
            cached = self._sequence_values([s for s in seqs if s.kind == "sequence"])
        except CheckFailedToRun as exc:
            return {r: exc for r in requests}
        found: Positions = {}
        for request, seq in zip(requests, seqs, strict=True):
            if seq.name in cached:
                found[request] = cached_position(seq, *cached[seq.name])
                continue
            value = values.get(seq.name)
            found[request] = (
                _position(seq, value)
                if value is not None
                else CheckFailedToRun(f"reading {seq.label}: the server reported no value")
            )
        return found

    def _counter_values(self, seqs: list[SequenceDef]) -> dict[QualifiedName, int]:
        if not seqs:
            return {}
        marks = ", ".join(["%s"] * len(seqs))
        query = (
            "SELECT TABLE_SCHEMA, TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES"
            f" WHERE TABLE_SCHEMA = %s AND TABLE_NAME IN ({marks})"
        )
        params = [self._model.server.database, *(s.name.name for s in seqs)]
        rows = self._rows("reading AUTO_INCREMENT counters", query, params)
        return {QualifiedName(r[0], r[1]): int(r[2]) for r in rows if r[2] is not None}

    def _sequence_values(self, seqs: list[SequenceDef]) -> dict[QualifiedName, tuple[int, int]]:
        """``next_not_cached_value`` and ``cache_size`` of each MariaDB sequence table."""
        if not seqs:
            return {}
        query = " UNION ALL ".join(
            f"SELECT {i}, next_not_cached_value, cache_size FROM {table_sql(s.name)}"
            for i, s in enumerate(seqs)
        )
        rows = self._rows("reading sequence positions", query)
        return {seqs[int(i)].name: (int(v), int(c or 0)) for i, v, c in rows}

    # ----- a rule's own SQL --------------------------------------------------------------

    def _vetted(self, render: Any, text: str) -> str:
        try:
            return str(render(text, self._mariadb))
        except ValueError as exc:
            raise CheckFailedToRun(f"refused on {self.name}: {exc}") from None

    def _vet_views(self, query: str) -> None:
        """Every view the query reads, and the views they read, vetted from the server's
        definitions (one query per level of nesting)."""
        mariadb = self._mariadb
        default = self._model.server.database
        pending = vetting.tables_read(query)
        seen: set[tuple[str, str]] = set()
        for _ in range(16):
            wanted = sorted({(s or default, n) for s, n in pending} - seen)
            if not wanted:
                return
            seen |= set(wanted)
            marks = ", ".join(["(%s, %s)"] * len(wanted))
            rows = self._rows(
                "reading the definitions of the views the rule reads",
                "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS"
                f" WHERE (TABLE_SCHEMA, TABLE_NAME) IN ({marks})",
                [part for pair in wanted for part in pair],
            )
            pending = set()
            for schema, name, definition in rows:
                label = f"view {schema}.{name}"
                if not definition:
                    raise CheckFailedToRun(
                        f"refused on {self.name}: cannot read the definition of {label}",
                        "grant the checking account SHOW VIEW on the database",
                    )
                try:
                    vetting.query_text(str(definition), mariadb)
                    pending |= {(s or str(schema), n) for s, n in vetting.tables_read(definition)}
                except ValueError as exc:
                    raise CheckFailedToRun(f"refused on {self.name}: {label}: {exc}") from None
        raise CheckFailedToRun(f"refused on {self.name}: views nested more than 16 deep")

    @contextmanager
    def _user_probe(self, what: str) -> Iterator[None]:
        """A rule's statement: the session must be the same, and the pinned one, after it."""
        timeout = "max_statement_time" if self._mariadb else "max_execution_time"
        try:
            with self._conn.cursor() as cur:
                before = vetting.session_state(cur, timeout)
            yield
            with self._conn.cursor() as cur:
                vetting.check_state(cur, timeout, before, what)
        except pymysql.MySQLError as exc:
            raise translate(exc, what, self._settings) from None

    # ----- MySQL's own requests ----------------------------------------------------------

    def answer_health_item(self, request: HealthItem) -> list[tuple[str, str]]:
        raise CheckFailedToRun(f"catalog item {request.item} is not known on {self.name}")

    def answer_inventory(self, request: Inventory) -> list[tuple[str, str, str | None]]:
        with self.translated("taking the object inventory"), self._conn.cursor() as cur:
            cur.execute(load("inventory"), {"db": self._model.server.database})
            rows = [tuple(r) for r in cur.fetchall()]
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def answer_roles_present(self, request: RolesPresent) -> set[str]:
        return grants.roles_present(self._rows, request.roles, self._mariadb)

    def answer_missing_grants(self, request: MissingGrants) -> list[tuple[str, str]]:
        return grants.missing(self._rows, request, self._model, self._mariadb)


def cached_position(seq: SequenceDef, value: int, cache: int) -> SequencePosition:
    """A MariaDB sequence hands out ``next_not_cached_value`` (``value``) next only while its
    cache is empty (after a restart, a reload, SETVAL). Once a NEXTVAL reserved ``cache``
    values, ``value`` has moved past them and the next one handed out may be as low as
    ``value - (cache - 1) * increment`` (ascending; descending mirrored). Exhaustion is
    judged from ``value`` (what the sequence table says is used), collisions from the
    lowest value (what may still come out of the cache)."""
    position = _position(seq, value)
    if cache <= 1 or position.next_value is None:
        return position
    lowest = value - (cache - 1) * seq.increment
    lowest = max(lowest, seq.min_value) if seq.ascending else min(lowest, seq.max_value)
    if lowest == value:
        return position
    low = "low" if seq.ascending else "high"
    basis = (
        f"it caches {cache:,} values: next_not_cached_value is {value:,}, and while values "
        f"are cached the next one handed out may be as {low} as {lowest:,}"
    )
    return SequencePosition(position.next_value, position.last_value, lowest, basis)


def _position(seq: SequenceDef, value: int) -> SequencePosition:
    """``value`` is what the next insert gets (AUTO_INCREMENT, next_not_cached_value)."""
    if seq.min_value <= value <= seq.max_value:
        return SequencePosition(value, value - seq.increment)
    if seq.cycle:
        return SequencePosition(seq.min_value if seq.ascending else seq.max_value, value)
    return SequencePosition(None, value - seq.increment)
