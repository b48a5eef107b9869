"""Judging suspected references exactly: orphans, reassignable rows, and how strong.

Strong evidence closes the gate (by default). It is either

- a name that proposes the parent, at least 95% of the sampled values matching it, and
  orphans among the rows; or
- the seed's own signature, which needs no name: orphaned values that begin right where
  the parent hands out its next key (its sequence's next value, or ``max + 1`` for a key
  without one), so the next rows of the parent will adopt them.

Anything else is weak and only warns. Each suspect costs one exact anti-join, the same
one the ``references`` check would run, shared through ``Probes``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from restoregate.catalog import Reference
from restoregate.engines.base import ReferenceStats
from restoregate.errors import CheckFailedToRun
from restoregate.inference import Inference, Settings, Suspect, infer
from restoregate.names import ColumnSet
from restoregate.probes import Probes
from restoregate.scope import Scope

STRONG_SHARE = 0.95


@dataclass(frozen=True)
class Judged:
    suspect: Suspect
    stats: ReferenceStats
    strong: str | None  # why the evidence is strong; None: weak
    parent_sequence: str | None  # the parent key's sequence, if it has one

    @property
    def reference(self) -> Reference:
        return self.suspect.reference


@dataclass(frozen=True)
class Judgement:
    judged: tuple[Judged, ...]
    inference: Inference
    errors: tuple[CheckFailedToRun, ...]

    @property
    def strong(self) -> list[Judged]:
        return [j for j in self.judged if j.strong and j.stats.orphans]


def judgement(
    probes: Probes,
    scope: Scope,
    settings: Settings,
    dismissed: Sequence[tuple[ColumnSet, ColumnSet]],
) -> Judgement:
    """Inferred and judged once per run, whichever check asks first."""
    key = ("suspected references", settings, tuple(dismissed))
    return probes.cached(key, lambda: _judge(probes, scope, settings, dismissed))


def _judge(
    probes: Probes,
    scope: Scope,
    settings: Settings,
    dismissed: Sequence[tuple[ColumnSet, ColumnSet]],
) -> Judgement:
    found = infer(scope, probes, settings, dismissed)
    judged: list[Judged] = []
    errors = list(found.errors)
    for suspect in found.suspects:
        try:
            verdict = _exact(probes, suspect)
        except CheckFailedToRun as exc:
            errors.append(exc)
            continue
        if verdict is not None:
            judged.append(verdict)
    return Judgement(tuple(judged), found, tuple(errors))


def _exact(probes: Probes, suspect: Suspect) -> Judged | None:
    """Count exactly; a data-only suspect with rivals stands only if its signature alone fits."""
    options = [suspect.reference, *suspect.rivals]
    verdicts = [_one(probes, suspect, ref) for ref in options]
    if len(verdicts) == 1:
        return verdicts[0]
    signed = [v for v in verdicts if v.strong]
    return signed[0] if len(signed) == 1 else None  # the data fits several parents alike


def _one(probes: Probes, suspect: Suspect, ref: Reference) -> Judged:
    if ref != suspect.reference:
        suspect = Suspect(ref, suspect.sampled, suspect.matched, False, suspect.how)
    stats = probes.reference_stats(ref)
    frontier = probes.frontier(ref.parent.table, ref.parent.columns[0])
    sequence = frontier[2] if frontier else None
    parent = ref.parent

    def held() -> tuple[object, object]:
        low, high = probes.column_range(parent.table, parent.columns[0])
        return low, high

    return Judged(suspect, stats, _strength(suspect, stats, frontier, held), sequence)


def _strength(
    suspect: Suspect,
    stats: ReferenceStats,
    frontier: tuple[int, int, str | None] | None,
    held: Callable[[], tuple[object, object]],
) -> str | None:
    if not stats.orphans:
        return None
    if suspect.by_name and suspect.share >= STRONG_SHARE:
        return (
            f"the names match, {suspect.share:.0%} of the sampled values have their parent, "
            "and the rest are orphans"
        )
    column = suspect.reference.child.columns[0]
    low = stats.orphan_ranges.get(column, (None, None))[0]
    if frontier is None or low is None or not isinstance(low, int):
        return None
    first, step, sequence = frontier
    where = f"{sequence} hands out next" if sequence else "the next max + 1 insert takes"
    parent = suspect.reference.parent
    key = parent.table.column(parent.columns[0])
    gap = (low - first) / step
    if stats.reassignable == stats.orphans and 0 <= gap < max(stats.orphan_keys, 1):
        return (
            f"the orphans begin at {low:,}, right where {where} for {key}: "
            "its next keys are already referenced"
        )
    high = stats.orphan_ranges.get(column, (None, None))[1]
    if stats.reassignable and isinstance(high, int) and min(low, high) <= first <= max(low, high):
        # the counter moved past some orphans (a bulk insert reserved a block) but not all.
        # Only when every orphan lies beyond every key the parent holds, as the reserved
        # block does: small numbers spread over a small table's keys (danbooru's
        # polymorphic model_id, pixiv_id) straddle its counter too, and are no reference
        smallest, largest = held()
        if step > 0 and not (isinstance(largest, int) and min(low, high) > largest):
            return None
        if step < 0 and not (isinstance(smallest, int) and max(low, high) < smallest):
            return None
        return (
            f"{first:,}, what {where} for {key}, lies inside the orphans' range "
            f"{min(low, high):,}..{max(low, high):,}: its next keys are already referenced"
        )
    return None
