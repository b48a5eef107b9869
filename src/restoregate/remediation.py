"""The library API of ``restoregate fix``: a plan from a check, and its guarded apply.

``fix`` only reads (the check's own read-only snapshot). ``apply_fix`` is the one place
a plan writes: its own connection, one read-write transaction, the plan, then the
checks the plan answers re-run inside that transaction; it commits only when they pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from restoregate import api
from restoregate import manifest as manifests
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.remedy.engines import WriteSession, remedy_for
from restoregate.remedy.plan import Headroom, OrphanMode, Plan, build_plan
from restoregate.remedy.script import Script, write_script
from restoregate.report import Report
from restoregate.rules.ruleset import RuleSet
from restoregate.settings import SessionSettings

__all__ = [
    "Applied",
    "Fix",
    "apply_fix",
    "fix",
    "parse_headroom",
    "require_complete",
    "require_dry_run_possible",
]


@dataclass(frozen=True)
class Fix:
    report: Report
    plan: Plan
    script: Script
    rules: RuleSet
    settings: SessionSettings
    transactional: bool = True  # False (MySQL): applied statements cannot be rolled back


@dataclass(frozen=True)
class Applied:
    recheck: Report  # the answered rules, judged inside the transaction after the plan
    passed: bool  # they no longer show what the plan answers
    committed: bool
    notices: tuple[str, ...]
    transactional: bool = True  # False: re-checked after the plan, which stays applied

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def parse_headroom(text: str) -> Headroom:
    try:
        return Headroom.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc), "for example --headroom 1000 or --headroom 10%") from None


def fix(
    dsn: str | None,
    rules_paths: Sequence[str | Path] = (),
    *,
    rules: RuleSet | None = None,
    headroom: Headroom | None = None,
    orphans: OrphanMode = "report",
    settings: SessionSettings | None = None,
    baseline: Path | None = None,
) -> Fix:
    """Run the check (read-only) and write the plan that answers what it found."""
    ruleset = rules if rules is not None else api.load_rules(rules_paths, dsn)
    source = manifests.read(Path(baseline)) if baseline is not None else None
    if source is not None:
        ruleset = api.with_baseline_rule(ruleset)
    settings = settings or SessionSettings()
    selected = api.select_rules(ruleset, (), ())
    remedy = remedy_for(dsn, "fix")  # an engine without one: exit 2 before connecting
    with api.open_engine(dsn, settings) as engine:
        report, ctx = api.judge(engine, ruleset, selected, source=source)
        plan = build_plan(report, ctx, headroom or Headroom(), orphans)
        script = write_script(plan, remedy.plan_writer(settings, engine))
    return Fix(report, plan, script, ruleset, settings, bool(remedy.TRANSACTIONAL))


def apply_fix(
    dsn: str | None, found: Fix, *, dry_run: bool = False, notice: Callable[[str], None] = print
) -> Applied:
    """Run the plan in one transaction; commit only if the rules it answers now pass.

    On an engine whose DDL commits at once (MySQL/MariaDB) there is no such transaction:
    the plan runs statement by statement, then the rules are re-checked in a fresh
    snapshot; a failing re-check is reported (exit 1) but undoes nothing.
    """
    require_complete(found)
    require_dry_run_possible(found, dry_run)
    notices: list[str] = []

    def heard(text: str) -> None:
        notices.append(text)
        notice(text)

    with remedy_for(dsn, "fix --apply").open_write_session(dsn, found.settings) as session:
        _require_privileges(session, found.plan)
        session.run(found.script.statements, heard)
        if not session.transactional:
            session.commit()  # nothing left to hold: each statement committed as it ran
            answered = {rule_id for rule_id, _ in found.plan.answers}
            recheck, _ = api.judge(session.engine(), found.rules, answered)
            passed = answers_hold(recheck, found.plan)
            return Applied(recheck, passed, True, tuple(notices), False)
        answered = {rule_id for rule_id, _ in found.plan.answers}
        recheck, _ = api.judge(session.engine(), found.rules, answered)
        passed = answers_hold(recheck, found.plan)
        if passed and not dry_run:
            session.commit()
        else:
            session.rollback()
    return Applied(recheck, passed, passed and not dry_run, tuple(notices))


def require_dry_run_possible(found: Fix, dry_run: bool) -> None:
    """A dry run must roll back everything; MySQL cannot roll back DDL, so it refuses."""
    if dry_run and not found.transactional:
        raise UsageError(
            f"fix --dry-run is not possible on {found.report.engine or 'this server'}: "
            "ALTER TABLE and SETVAL commit at once, no rollback undoes them",
            "review the plan that `restoregate fix` prints, or run it on a copy",
        )


def require_complete(found: Fix) -> None:
    """A plan from a check where some rule could not run may lack steps: never apply it."""
    if found.report.count("error"):
        raise CheckFailedToRun(
            "some rules could not run, so the plan may be missing steps: nothing was applied",
            "fix the cause the report names and run fix again",
        )


def answers_hold(recheck: Report, plan: Plan) -> bool:
    """Every rule the plan answers ran, and shows none of the kinds of finding it answered."""
    for rule_id, kind in plan.answers:
        result = next((r for r in recheck.rules if r.id == rule_id), None)
        if result is None or result.status in ("error", "skip"):
            return False
        if any(v.kind == kind for v in result.violations):
            return False
    return True


def _require_privileges(session: WriteSession, plan: Plan) -> None:
    lacking = session.missing_privileges(plan)
    if not lacking:
        return
    more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
    raise UsageError(
        f"role {session.role} lacks {lacking[0]}{more}: nothing was applied",
        "run fix --apply as the owner of the tables and sequences, or grant what is missing"
        + ("" if session.transactional else " (nothing has run yet)"),
    )
