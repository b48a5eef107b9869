"""Check ``references``: no orphaned rows, and none waiting to be adopted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.catalog import Reference
from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import OrphanScan, Request
from restoregate.errors import CheckFailedToRun
from restoregate.report import Violation, plural
from restoregate.report.literals import sql_tuple
from restoregate.rules.ruleset import TableFilter


@dataclass(frozen=True)
class Orphans(Violation):
    kind: ClassVar[str] = "orphans"
    declared: bool
    reference: str
    constraint: str | None
    orphans: int
    reassignable: int
    parent_sequence: str | None
    sample: list[list[Any]]
    constraint_state: list[str]  # "not validated", "not enforced", "triggers disabled"

    def describe(self) -> str:
        child, _, parent = self.reference.partition(" -> ")
        rows = "row" if self.orphans == 1 else "rows"
        text = (
            f"{self.orphans:,} {rows} of {child} point at {parent} rows that do not exist"
            f" (e.g. {_sample_text(self.sample)})"
        )
        if self.reassignable:
            text += (
                f"; {self.reassignable:,} of them hold keys {self.parent_sequence} has not handed"
                f" out yet: the next inserts into {parent.split('(')[0]} will inherit them"
            )
        if self.constraint_state:
            text += f" [constraint {', '.join(self.constraint_state)}]"
        return text


def _sample_text(sample: list[list[Any]]) -> str:
    shown = ", ".join(sql_tuple(key) for key in sample[:5])
    return shown + (", …" if len(sample) > 5 else "")


def constraint_state(ref: Reference) -> list[str]:
    state = []
    if not ref.validated:
        state.append("not validated")
    if not ref.enforced:
        state.append("not enforced")
    if ref.triggers_disabled:
        state.append("triggers disabled")
    return state


class References:
    """No row points at a parent that does not exist, declared FK or logical reference.

    Fails (journals kept, accounts restored from an older backup)::

        references:
          - from: public.journals(user_id)
            to: public.accounts(id)
        -> orphans: 106, reassignable: 106 (keys accounts_id_seq will hand out again)

    Passes: every journal's user_id has its account.

    Counts are exact (one anti-join per reference, MATCH SIMPLE or FULL as declared);
    the sample holds at most 20 keys. Foreign keys that are NOT VALID, NOT ENFORCED or
    whose triggers are disabled are checked all the same: they are how orphans get in.
    """

    name: ClassVar[str] = "references"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (OrphanScan,)

    @dataclass(frozen=True)
    class Params:
        tables: TableFilter = field(default_factory=TableFilter)  # child tables to judge

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        violations: list[Orphans] = []
        errors: list[CheckFailedToRun] = []
        refs = tuple(r for r in ctx.scope.references if params.tables(r.child.table))
        ctx.probes.prefetch_references(refs)  # one batch: the engine groups and spreads it
        for ref in refs:
            try:
                found = _judge(ctx, ref)
            except CheckFailedToRun as exc:
                errors.append(exc)
                continue
            if found is not None:
                violations.append(found)
        message = _message(refs, violations)
        return Outcome(message, list(violations), [], errors)


def _judge(ctx: CheckContext, ref: Reference) -> Orphans | None:
    stats = ctx.probes.reference_stats(ref)
    if not stats.orphans:
        return None
    sequences = [
        label
        for col in ref.parent.columns
        for label in ctx.probes.sequence_labels(ref.parent.table, col)
    ]
    return Orphans(
        declared=ref.declared,
        reference=str(ref),
        constraint=ref.name,
        orphans=stats.orphans,
        reassignable=stats.reassignable,
        parent_sequence=", ".join(sequences) or None,
        sample=[list(row) for row in stats.sample],
        constraint_state=constraint_state(ref),
    )


def _message(refs: tuple[Reference, ...], found: list[Orphans]) -> str:
    if not found:
        declared = sum(1 for r in refs if r.declared)
        return (
            f"no orphans in {plural(len(refs), 'reference')} "
            f"({declared:,} declared, {len(refs) - declared:,} logical)"
        )
    orphans = sum(v.orphans for v in found)
    reassignable = sum(v.reassignable for v in found)
    noun = "row" if orphans == 1 else "rows"
    return f"{orphans:,} orphaned {noun}, {reassignable:,} of them reassignable"
