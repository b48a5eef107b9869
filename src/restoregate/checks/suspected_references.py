"""Check ``suspected_references``: undeclared references whose data looks orphaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import OrphanScan, Request, ValueSample
from restoregate.errors import CheckFailedToRun
from restoregate.inference import infer
from restoregate.report import Violation
from restoregate.rules.ruleset import TableFilter


@dataclass(frozen=True)
class SuspectedOrphans(Violation):
    kind: ClassVar[str] = "suspected_orphans"
    reference: str
    evidence: str
    orphans: int
    reassignable: int
    parent_sequence: str | None
    sample: list[list[Any]]

    def describe(self) -> str:
        child, _, parent = self.reference.partition(" -> ")
        text = (
            f"{child} looks like a reference to {parent} that nothing declares "
            f"({self.evidence}): {self.orphans:,} "
            f"{'row points' if self.orphans == 1 else 'rows point'} at no {parent} row"
        )
        if self.reassignable:
            text += (
                f", {self.reassignable:,} of them at keys {self.parent_sequence} will hand out "
                "next: new rows will inherit them"
            )
        return text + ". Declare it (restoregate init) so every check uses it"


class SuspectedReferences:
    """References nobody declared, inferred from names and data, checked for orphans.

    Fails (the 2018 journals, with no rules file at all)::

        - {id: suspected-references, check: suspected_references, severity: warn}
        -> suspected_orphans: public.journals(user_id) looks like a reference to
           public.accounts(id) ... 106 rows point at no public.accounts(id) row, 106
           of them at keys public.accounts_id_seq will hand out next

    Passes: every suspected reference's values have their parent. Each candidate
    column costs one sampled query; a confirmed suspect one exact anti-join.
    """

    name: ClassVar[str] = "suspected_references"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (
        ValueSample,
        OrphanScan,
    )

    @dataclass(frozen=True)
    class Params:
        min_match: float = 0.5  # share of sampled values that must match the parent key
        tables: TableFilter = field(default_factory=TableFilter)

        def __post_init__(self) -> None:
            if not 0 < self.min_match <= 1:
                raise ValueError(f"min_match must be above 0 and at most 1, not {self.min_match}")

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        suspects = infer(ctx.catalog, ctx.scope, ctx.probes, params.min_match, params.tables)
        found: list[Violation] = []
        errors: list[CheckFailedToRun] = []
        for suspect in suspects:
            try:
                stats = ctx.probes.reference_stats(suspect.reference)
            except CheckFailedToRun as exc:
                errors.append(exc)
                continue
            if not stats.orphans:
                continue
            parent = suspect.reference.parent
            sequences = ctx.probes.sequence_labels(parent.table, parent.columns[0])
            found.append(
                SuspectedOrphans(
                    str(suspect.reference),
                    suspect.evidence,
                    stats.orphans,
                    stats.reassignable,
                    ", ".join(sequences) or None,
                    [list(k) for k in stats.sample],
                )
            )
        if found:
            noun = "reference" if len(found) == 1 else "references"
            return Outcome(f"{len(found)} undeclared {noun} with orphans", found, [], errors)
        intact = (
            f"{len(suspects)} undeclared references look intact"
            if suspects
            else ("no undeclared references found")
        )
        return Outcome(intact, [], [], errors)
