"""Check ``suspected_references``: undeclared references whose data looks orphaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import (
    Comparable,
    KeyRange,
    OrphanScan,
    Request,
    SequencePositionOf,
)
from restoregate.inference import Settings
from restoregate.inference.judge import Judged, judgement
from restoregate.report import Unchecked, Violation
from restoregate.rules.ruleset import TableFilter


@dataclass(frozen=True)
class SuspectedOrphans(Violation):
    kind: ClassVar[str] = "suspected_orphans"
    reference: str
    evidence: str
    strength: str  # "strong" closes the gate; "weak" warns
    strong_because: str | None
    orphans: int
    reassignable: int
    parent_sequence: str | None  # None: the parent has no sequence, max + 1 decides
    sample: list[list[Any]]

    def describe(self) -> str:
        child, _, parent = self.reference.partition(" -> ")
        rows = "row points" if self.orphans == 1 else "rows point"
        text = (
            f"{child} looks like a reference to {parent} that nothing declares "
            f"({self.evidence}): {self.orphans:,} {rows} at no {parent} row"
        )
        if self.reassignable:
            where = (
                f"keys {self.parent_sequence} will hand out next"
                if self.parent_sequence
                else f"keys above {parent}'s largest (the next max + 1 insert takes them)"
            )
            text += f", {self.reassignable:,} of them reassignable: at {where}"
        if self.strong_because:
            text += f". Strong evidence: {self.strong_because}"
        return text + (
            f". Confirm it under references: (from: {child}, to: {parent}) or dismiss it "
            "under not_references:"
        )


class SuspectedReferences:
    """References nobody declared, inferred from names and data, checked for orphans.

    Fails (the 2018 journals, with no rules file at all)::

        - {id: suspected-references, check: suspected_references}
        -> suspected_orphans: public.journals(user_id) looks like a reference to
           public.accounts(id) ... 106 rows point at no public.accounts(id) row, 106
           of them reassignable. Strong evidence: the orphans begin at 201, right where
           public.accounts_id_seq hands out next

    Passes: every suspected reference's values have their parent (they are listed as
    intact). Strong evidence fails the rule; weak evidence only warns. Each child table
    is sampled once for all its candidate columns, within ``budget_rows`` and
    ``budget_seconds``; each suspect costs one exact anti-join.
    """

    name: ClassVar[str] = "suspected_references"
    # ReferenceSample where the engine answers it, else ValueSample column by column
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (
        Comparable,
        OrphanScan,
        KeyRange,
        SequencePositionOf,
    )

    @dataclass(frozen=True)
    class Params:
        min_match: float = 0.5  # share of sampled values that must match the parent key
        sample_rows: int = 2000  # rows sampled per table
        budget_rows: int = 1_000_000  # rows sampled in all
        budget_seconds: float = 60.0  # time spent sampling in all
        tables: TableFilter = field(default_factory=TableFilter)

        def __post_init__(self) -> None:
            if not 0 < self.min_match <= 1:
                raise ValueError(f"min_match must be above 0 and at most 1, not {self.min_match}")
            for key in ("sample_rows", "budget_rows", "budget_seconds"):
                if not getattr(self, key) > 0:
                    raise ValueError(f"{key}: must be above 0, not {getattr(self, key)}")

        @property
        def settings(self) -> Settings:
            return Settings(
                self.min_match,
                self.sample_rows,
                self.budget_rows,
                self.budget_seconds,
                tables=self.tables,
            )

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        found = judgement(ctx.probes, ctx.scope, params.settings, ctx.scope.dismissed)
        strong = [_violation(j) for j in found.judged if j.stats.orphans and j.strong]
        weak = [_violation(j) for j in found.judged if j.stats.orphans and not j.strong]
        intact = [str(j.reference) for j in found.judged if not j.stats.orphans]
        unchecked = []
        if found.inference.skipped_tables:
            count = len(found.inference.skipped_tables)
            unchecked.append(
                Unchecked(
                    f"{count:,} {'table' if count == 1 else 'tables'}",
                    f"not sampled: {found.inference.budget} was spent first "
                    f"(after {found.inference.sampled_tables:,} tables; raise budget_rows or "
                    "budget_seconds to look further)",
                )
            )
        message = _message(len(strong), len(weak), len(intact))
        outcome = Outcome(message, list(strong), unchecked, list(found.errors), list(weak))
        outcome.lists["intact_references"] = intact
        return outcome


def _violation(judged: Judged) -> SuspectedOrphans:
    stats = judged.stats
    return SuspectedOrphans(
        reference=str(judged.reference),
        evidence=judged.suspect.evidence,
        strength="strong" if judged.strong else "weak",
        strong_because=judged.strong,
        orphans=stats.orphans,
        reassignable=stats.reassignable,
        parent_sequence=judged.parent_sequence,
        sample=[list(k) for k in stats.sample],
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _message(strong: int, weak: int, intact: int) -> str:
    parts = []
    if strong:
        refs = _plural(strong, "suspected reference", "suspected references")
        parts.append(f"{refs} with orphans on strong evidence")
    if weak:
        refs = (
            f"{weak:,} more"
            if strong
            else _plural(weak, "suspected reference", "suspected references")
        )
        parts.append(f"{refs} with orphans on weak evidence")
    if intact:
        refs = _plural(intact, "undeclared reference", "undeclared references")
        parts.append(f"{refs} {'looks' if intact == 1 else 'look'} intact")
    return "; ".join(parts) or "no undeclared references found"
