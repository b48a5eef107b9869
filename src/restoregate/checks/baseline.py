"""Check ``baseline``: the restore holds everything the source's manifest recorded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from restoregate import manifest as manifests
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import Inventory, KeyRange, Request, RowCount, SequencePositionOf
from restoregate.errors import CheckFailedToRun
from restoregate.names import NameError_, parse_table
from restoregate.report import Violation, number


@dataclass(frozen=True)
class MissingObject(Violation):
    kind: ClassVar[str] = "missing_object"
    object_kind: str
    object: str

    def describe(self) -> str:
        return f"{self.object_kind} {self.object} is in the baseline but not in this database"


@dataclass(frozen=True)
class Drift(Violation):
    kind: ClassVar[str] = "baseline_drift"
    what: str  # "extension", "sequence", "key", "rows", "constraint", "privilege"
    object: str
    baseline: Any
    restored: Any
    problem: str

    def describe(self) -> str:
        return (
            f"{self.object}: {self.problem} (baseline {number(self.baseline)}, "
            f"here {number(self.restored)})"
        )


class Baseline:
    """Everything the source's manifest recorded came back, and nothing went backwards.

    Fails (a restore that lost a foreign key, from an older dump)::

        restoregate check --baseline manifest.json
        -> missing_object: constraint public.orders constraint orders_account_id_fkey
        -> baseline_drift: public.accounts_id_seq: behind the baseline

    Passes: a clean restore of the very dump the manifest was taken with. Added
    automatically by ``--baseline``; as a rule it takes ``manifest`` (a path) and
    ``row_count_tolerance`` (default 0 for exact manifests, 0.1 for estimated ones).
    """

    name: ClassVar[str] = "baseline"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (
        Inventory,
        RowCount,
        KeyRange,
        SequencePositionOf,
    )

    @dataclass(frozen=True)
    class Params:
        manifest: str | None = None
        row_count_tolerance: float | None = None

        def __post_init__(self) -> None:
            tolerance = self.row_count_tolerance
            if tolerance is not None and not 0 <= tolerance < 1:
                raise ValueError("row_count_tolerance must be a fraction from 0 to below 1")

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        source = ctx.baseline or (
            manifests.read(Path(params.manifest)) if params.manifest else None
        )
        if source is None:
            raise CheckFailedToRun("no baseline manifest", "pass --baseline FILE")
        _same_engine(source.get("engine"), ctx.catalog.server.engine)
        source = manifests.rebased(source, ctx.catalog.server.engine, ctx.catalog.server.database)
        restored = manifests.inventory_sections(ctx.probes.inventory())
        found: list[Violation] = _objects(source, restored) + _extensions(source, restored)
        found += _sequences(ctx, source) + _keys(ctx, source)
        found += _rows(ctx, source, params.row_count_tolerance)
        if not found:
            return Outcome(f"everything in the baseline of {source.get('taken_at')} is here")
        return Outcome(
            f"{len(found)} differences from the baseline of {source.get('taken_at')}", found
        )


def _same_engine(taken_on: Any, here: str) -> None:
    """A manifest compares only with the engine family it was taken on (MySQL = MariaDB)."""
    family = {"mariadb": "mysql"}
    if taken_on is not None and family.get(taken_on, taken_on) != family.get(here, here):
        raise CheckFailedToRun(
            f"the baseline was taken on {taken_on}, this database is {here}",
            "take the manifest with restoregate snapshot on the same engine",
        )


def _objects(source: dict[str, Any], restored: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    for kind, names in source.get("objects", {}).items():
        present = set(restored["objects"].get(kind, []))
        found += [MissingObject(kind, name) for name in names if name not in present]
    was_valid = set(source.get("objects", {}).get("constraint", [])) - set(
        source.get("not_valid", [])
    )
    found += [
        Drift("constraint", name, "valid", "not valid", "no longer validated")
        for name in restored["not_valid"]
        if name in was_valid
    ]
    return found


def _extensions(source: dict[str, Any], restored: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    for name, version in source.get("extensions", {}).items():
        have = restored["extensions"].get(name)
        if have is None:
            found.append(MissingObject("extension", name))
        elif have != version:
            found.append(Drift("extension", name, version, have, "another version"))
    return found


def _sequences(ctx: CheckContext, source: dict[str, Any]) -> list[Violation]:
    """Every sequence at or beyond the baseline's position (missing ones are objects)."""
    present = [
        (text, entry, seq)
        for text, entry in source.get("sequences", {}).items()
        if (seq := ctx.catalog.sequences.get(_name(text))) is not None
    ]
    positions = ctx.probes.positions([seq.name for _, _, seq in present])
    found: list[Violation] = []
    for text, entry, seq in present:
        position = positions[seq.name]
        if isinstance(position, CheckFailedToRun):
            raise position
        was = manifests.next_value(entry, seq.increment)
        now = position.next_value
        if now is None:  # exhausted: at the end of its range, not behind
            continue
        if (now < was) if seq.ascending else (now > was):
            found.append(
                Drift(
                    "sequence",
                    text,
                    was,
                    now,
                    "behind the baseline: its SEQUENCE SET was lost or is older",
                )
            )
    return found


def _keys(ctx: CheckContext, source: dict[str, Any]) -> list[Violation]:
    found: list[Violation] = []
    for key in source.get("keys", []):
        table = ctx.catalog.tables.get(_name(key["table"]))
        if table is None or table.column(key["column"]) is None or key.get("max") is None:
            continue
        _, high = ctx.probes.column_range(table.name, key["column"])
        if high is None or _less(high, key["max"]):
            found.append(
                Drift(
                    "key",
                    table.name.column(key["column"]),
                    key["max"],
                    high,
                    "largest key is below the baseline's: this restore is older",
                )
            )
    return found


def _less(value: Any, baseline: Any) -> bool:
    try:
        return bool(value < type(value)(baseline))
    except (TypeError, ValueError):
        return False


def _rows(ctx: CheckContext, source: dict[str, Any], tolerance: float | None) -> list[Violation]:
    exact = source.get("row_counts") == "exact"
    allowed = tolerance if tolerance is not None else (0.0 if exact else 0.1)
    found: list[Violation] = []
    for text, entry in source.get("tables", {}).items():
        table = ctx.catalog.tables.get(_name(text))
        wanted = entry.get("rows")
        if table is None or wanted is None:
            continue
        rows = ctx.probes.row_count(table.name)
        if abs(rows - wanted) > allowed * wanted:
            found.append(
                Drift("rows", text, wanted, rows, f"row count differs by more than {allowed:.0%}")
            )
    return found


def _name(text: str) -> Any:
    try:
        return parse_table(text)
    except NameError_:
        return None
