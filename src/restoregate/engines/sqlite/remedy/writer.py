"""SQLite syntax for fix plans: ``sqlite_sequence`` for AUTOINCREMENT tables, one transaction.

An AUTOINCREMENT table hands out ``max(sqlite_sequence.seq, max(rowid)) + 1``: moving it
is an ``UPDATE`` of its ``sqlite_sequence`` row (an ``INSERT`` when the restore left none)
to the largest key of its column and of every column referencing it, plus headroom,
computed in the statement itself, and only when that is ahead of the saved value
(never backwards). A plain rowid table has no counter to move (``max(rowid) + 1``): the
planner leaves it to a person. Everything runs inside ``BEGIN IMMEDIATE``, which holds
every other writer off until ``COMMIT``, and SQLite rolls all of it back on error.
"""

from __future__ import annotations

from restoregate.catalog import Reference
from restoregate.engines.sqlite.catalog_loader import quote, relation
from restoregate.errors import UsageError
from restoregate.remedy.plan import MoveSequence, OrphanStep
from restoregate.settings import SessionSettings


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class SqlitePlanWriter:
    client = "sqlite3"
    transactional = True

    def __init__(self, settings: SessionSettings) -> None:
        self._settings = settings

    def prelude(self) -> list[str]:
        return [".bail on", f".timeout {int(self._settings.lock_timeout_ms)}", "BEGIN IMMEDIATE;"]

    def settings(self) -> list[str]:
        return []

    def holds_inserts(self) -> str:
        return "Every other writer waits until COMMIT (BEGIN IMMEDIATE)."

    def move_sequence(self, step: MoveSequence) -> list[str]:
        keys = " UNION ALL ".join(
            f"SELECT max({quote(k.column)}) AS k FROM {relation(k.table)}" for k in step.keys
        )
        room = (
            f"((abs(largest - 1) * {step.headroom.values} + 99) / 100)"
            if step.headroom.percent
            else str(step.headroom.values)
        )
        name = literal(step.sequence.name)
        # seq is the last value handed out: the next is seq + 1 = largest + 1 + room
        cte = (
            f"WITH rg_keys(largest) AS (SELECT CAST(max(k) AS INTEGER) FROM ({keys})),"
            f" rg_target(seq) AS (SELECT min(largest + {room}, {step.limit - 1}) FROM rg_keys"
            " WHERE largest IS NOT NULL)"
        )
        return [
            f"{cte}\nUPDATE main.sqlite_sequence SET seq = (SELECT seq FROM rg_target)"
            f"\n WHERE name = {name} AND seq < (SELECT largest FROM rg_keys);",
            f"{cte}\nINSERT INTO main.sqlite_sequence (name, seq) SELECT {name}, seq FROM rg_target"
            f"\n WHERE NOT EXISTS (SELECT 1 FROM main.sqlite_sequence WHERE name = {name});",
            "SELECT "
            + literal(f"restoregate: {step.sequence} hands out ")
            + " || (max(COALESCE((SELECT max(seq) FROM main.sqlite_sequence"
            f" WHERE name = {name}), 0), COALESCE((SELECT max(rowid) FROM"
            f" {relation(step.sequence)}), 0)) + 1) || ' next';",
        ]

    def list_orphans(self, step: OrphanStep) -> str:
        keys = ", ".join(f"c.{quote(c)}" for c in step.reference.child.columns)
        return f"SELECT c.* {_orphans(step.reference)} ORDER BY {keys};"

    def quarantine(self, step: OrphanStep) -> list[str]:
        raise UsageError(
            "fix --orphans quarantine is not supported on SQLite (a file has one schema, "
            "no restoregate_quarantine beside it)",
            "plan without it: the plan lists the orphans with a query, to move by hand",
        )

    def commit(self) -> list[str]:
        return ["COMMIT;"]


def _orphans(ref: Reference) -> str:
    present = " AND ".join(f"c.{quote(c)} IS NOT NULL" for c in ref.child.columns)
    match = " AND ".join(
        f"p.{quote(p)} = c.{quote(c)}"
        for c, p in zip(ref.child.columns, ref.parent.columns, strict=True)
    )
    return (
        f"FROM {relation(ref.child.table)} AS c WHERE {present} AND NOT EXISTS"
        f" (SELECT 1 FROM {relation(ref.parent.table)} AS p WHERE {match})"
    )
