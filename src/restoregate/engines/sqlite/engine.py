"""The SQLite engine: a restored file, read-only, one aggregate per request.

Identifiers are double-quoted (a quote doubled); values are ``?`` parameters; a rule's
query or expression is validated by ``restoregate.dialects`` in the SQLite dialect and
then runs under the authorizer's rule policy (``authorizer.py``): SQLite itself refuses,
while compiling the text it parsed, anything but reading.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import Any

from restoregate import dialects
from restoregate.catalog import Catalog, SequenceDef
from restoregate.engines import portable_sql
from restoregate.engines.base import HealthItem, Inventory, SequencePosition, SequencePositionOf
from restoregate.engines.portable import PortableEngine, Positions, Rows, refuse_snapshot
from restoregate.engines.sqlite.authorizer import Authorizer
from restoregate.engines.sqlite.catalog_loader import (
    ROWID_MAX,
    load_catalog,
    quote,
    relation,
)
from restoregate.engines.sqlite.dsn import parse
from restoregate.engines.sqlite.queries import load
from restoregate.engines.sqlite.session import Deadline, first_line, open_file
from restoregate.errors import CheckFailedToRun
from restoregate.settings import SessionSettings

FLAVOUR = portable_sql.Flavour(quote, "?", "INTEGER")


@contextmanager
def open_engine(
    dsn: str | None, settings: SessionSettings, snapshot: str | None = None
) -> Iterator[SqliteEngine]:
    refuse_snapshot(snapshot, "SQLite")
    path = parse(dsn or "")
    conn, deadline, authorizer = open_file(path, settings)
    try:
        yield SqliteEngine(conn, deadline, str(path), settings, authorizer)
    finally:
        conn.close()  # the read transaction ends with the connection: nothing was written


class SqliteEngine(PortableEngine):
    name = "sqlite"
    dialect = "sqlite"
    health_items = ("quick_check",)
    flavour = FLAVOUR
    driver_error = sqlite3.Error

    def __init__(
        self,
        conn: sqlite3.Connection,
        deadline: Deadline,
        path: str,
        settings: SessionSettings,
        authorizer: Authorizer | None = None,
    ) -> None:
        self._conn = conn
        self._authorizer = authorizer or Authorizer()
        self._deadline = deadline
        self._path = path
        self._settings = settings
        self._catalog: Catalog | None = None

    @property
    def target(self) -> str:
        return f"sqlite:///{self._path}"

    # ----- the portable engine's hooks ---------------------------------------------------

    def execute(self, query: str, params: Sequence[Any] = ()) -> tuple[Rows, list[str]]:
        self._deadline.start()
        cur = self._conn.execute(query, tuple(params))
        rows = [tuple(r) for r in cur.fetchall()]
        return rows, [d[0] for d in cur.description or []]

    def translate(self, exc: Exception, what: str) -> CheckFailedToRun:
        if self._deadline.expired:
            return CheckFailedToRun(
                f"{what}: stopped by the statement timeout ({self._settings.statement_timeout})",
                "raise --statement-timeout; a check that did not finish is never a pass",
            )
        text = first_line(exc)
        if "locked" in text or "busy" in text:
            return CheckFailedToRun(
                f"{what}: waited longer than --lock-timeout ({self._settings.lock_timeout})",
                "another process is writing the file; wait for it or raise --lock-timeout",
            )
        if "not authorized" in text or "prohibited" in text:
            why = self._authorizer.denied or "it does something other than read this database"
            return CheckFailedToRun(f"{what}: refused by SQLite's authorizer: {why}")
        return CheckFailedToRun(f"{what}: {text}")

    def load_catalog(self) -> Catalog:
        return load_catalog(self._conn, self._path)

    def expression_sql(self, text: str) -> str:
        return dialects.expression_sql(text, self.dialect)

    def query_sql(self, text: str) -> str:
        """The text SQLite parses is the rule's own; the authorizer judges what it compiled to."""
        return dialects.check_query(text, self.dialect)

    def user_scope(self, what: str) -> AbstractContextManager[None]:
        """A statement built around a rule's text: under the rule policy."""
        return self._authorizer.user_probe(self._conn)

    def timestamp(self, value: Any) -> datetime | None:
        """Timestamps as SQLite keeps them: ISO 8601 text (UTC unless it says) or Unix seconds."""
        return _timestamp(value)

    # ----- rowid counters ----------------------------------------------------------------

    def positions(self, requests: list[SequencePositionOf]) -> Positions:
        """max(rowid), and sqlite_sequence.seq for AUTOINCREMENT tables, in one statement."""
        seqs = [self._model.sequences[r.sequence] for r in requests]
        has_sequence_table = any(s.kind == "autoincrement" for s in seqs) and bool(
            self._rows(
                "reading sqlite_sequence",
                "SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'",
            )
        )
        parts, params = [], []
        for i, seq in enumerate(seqs):
            saved = "NULL"
            if seq.kind == "autoincrement" and has_sequence_table:
                saved = "(SELECT max(seq) FROM main.sqlite_sequence WHERE name = ?)"
                params.append(seq.name.name)
            parts.append(f"SELECT {i}, (SELECT max(rowid) FROM {relation(seq.name)}), {saved}")
        try:
            rows = self._rows("reading rowid counters", " UNION ALL ".join(parts), params)
        except CheckFailedToRun as exc:
            return {r: exc for r in requests}
        found: Positions = {}
        for i, top, saved in rows:
            found[requests[int(i)]] = _position(seqs[int(i)], top, saved)
        return found

    # ----- SQLite's own requests ---------------------------------------------------------

    def answer_health_item(self, request: HealthItem) -> list[tuple[str, str]]:
        if request.item != "quick_check":
            raise CheckFailedToRun(f"catalog item {request.item} is not known on SQLite")
        rows = self._rows("running PRAGMA quick_check", "PRAGMA main.quick_check")
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        return [(self._path, f"quick_check: {p}") for p in problems]

    def answer_inventory(self, request: Inventory) -> list[tuple[str, str, str | None]]:
        rows = self._rows("taking the object inventory", load("inventory"))
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]


def _position(seq: SequenceDef, top: Any, saved: Any) -> SequencePosition:
    """AUTOINCREMENT: max(seq, max(rowid)) + 1; a plain rowid: max(rowid) + 1."""
    last = max(int(top or 0), int(saved or 0)) if seq.kind == "autoincrement" else int(top or 0)
    if last >= ROWID_MAX:
        return SequencePosition(None, last)  # AUTOINCREMENT: SQLITE_FULL; rowid: random reuse
    return SequencePosition(last + 1, last)


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)
