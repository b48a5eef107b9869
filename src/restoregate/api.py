"""The library entry points the CLI (and anyone scripting restoregate) calls.

``run_check`` never prints. Expected failures raise a ``RestoregateError`` subclass
before any rule is judged (bad rules: exit 2; no connection: exit 3); once rules run,
a rule that cannot finish gets status ``error`` and the report's exit code is 3.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from restoregate import __version__, rules_dialect
from restoregate import manifest as manifests
from restoregate.catalog import Catalog
from restoregate.checks import CHECKS
from restoregate.checks.base import params_class
from restoregate.context import CheckContext, Outcome
from restoregate.engines import engine_for
from restoregate.engines.base import Engine
from restoregate.errors import CheckFailedToRun, RefusedSql, RulesError, UsageError
from restoregate.inference import Settings as InferenceSettings
from restoregate.inference.judge import judgement
from restoregate.init import render_rules
from restoregate.names import DEFAULT_SCHEMA, default_schema
from restoregate.probes import Probes
from restoregate.redact import mask_dsn, scrub
from restoregate.report import Report, RuleResult, Status
from restoregate.rules.loader import default_rules, lint, load_rules_files
from restoregate.rules.ruleset import Position, Rule, RuleSet
from restoregate.scope import resolve_scope
from restoregate.settings import SessionSettings
from restoregate.support import require_support

__all__ = [
    "Progress",
    "Report",
    "SessionSettings",
    "describe_dsn",
    "init_rules",
    "lint",
    "load_rules",
    "manifest_text",
    "rules_dialect_for",
    "run_check",
    "snapshot",
    "verify_dump",
    "write_manifest",
]

EngineFactory = Callable[[str | None, SessionSettings], AbstractContextManager[Engine]]


def describe_dsn(dsn: str | None) -> str:
    """The DSN as reports show it, without its password, whatever the engine (or none)."""
    try:
        return engine_for(dsn).describe_dsn(dsn)
    except UsageError:
        return mask_dsn(dsn or "")


def open_engine(dsn: str | None, settings: SessionSettings) -> AbstractContextManager[Engine]:
    """The engine the DSN's scheme names, connected and holding one snapshot."""
    return engine_for(dsn).open_engine(dsn, settings)


RESTORE_RULE = "restore_errors"  # the rule verify-dump adds: what pg_restore reported


class Progress(Protocol):
    """Told as rules run, so a terminal can show what is happening (checks never print)."""

    def started(self, rules: Sequence[Rule], targets: int = 0) -> None: ...

    def rule_started(self, rule: Rule) -> None: ...

    def target(self, what: str, count: int = 1) -> None: ...

    def rule_finished(self, result: RuleResult) -> None: ...


def load_rules(paths: Sequence[str | Path] = (), dsn: str | None = None) -> RuleSet:
    """The given rules files merged, or the built-in defaults when none are given.

    With a DSN, a table name without a schema means that engine's default: ``public``,
    the MySQL database named in the DSN, or SQLite's ``main``.
    """
    engine = engine_for(dsn) if dsn is not None else None
    schema = engine.default_schema(dsn) if engine is not None else DEFAULT_SCHEMA
    with default_schema(schema), rules_dialect_of(engine):
        return load_rules_files(paths) if paths else default_rules()


def rules_dialect_for(engine_name: str) -> AbstractContextManager[None]:
    """Read rules as ``engine_name``'s SQL (``rules lint --engine``), with its own offline
    vetting where it has one (MySQL: the text the server would run)."""
    if engine_name in ("postgresql", "postgres"):
        return rules_dialect.rules_dialect("postgres")  # sqlcheck's own; no driver loaded
    return rules_dialect_of(engine_for(f"{engine_name}://"))


def rules_dialect_of(engine: Any) -> AbstractContextManager[None]:
    if engine is None:
        return rules_dialect.rules_dialect("postgres")
    return rules_dialect.rules_dialect(engine.DIALECT, getattr(engine, "vet_rule_text", None))


def run_check(
    dsn: str | None,
    rules_paths: Sequence[str | Path] = (),
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    settings: SessionSettings | None = None,
    progress: Progress | None = None,
    rules: RuleSet | None = None,
    restore_point: datetime | None = None,
    baseline: Path | None = None,
    engine_factory: EngineFactory = open_engine,
    allow_none: bool = False,
) -> Report:
    """Connect to a restored database, judge every selected rule, return the report."""
    ruleset = rules if rules is not None else load_rules(rules_paths, dsn)
    source = manifests.read(Path(baseline)) if baseline is not None else None
    if source is not None:
        ruleset = with_baseline_rule(ruleset)
    selected = select_rules(ruleset, only, skip, allow_none=allow_none)
    with engine_factory(dsn, settings or SessionSettings()) as engine:
        report, _ = judge(engine, ruleset, selected, progress, restore_point, source)
    return report


def judge(
    engine: Engine,
    ruleset: RuleSet,
    selected: set[str],
    progress: Progress | None = None,
    restore_point: datetime | None = None,
    source: dict[str, Any] | None = None,
) -> tuple[Report, CheckContext]:
    """The selected rules judged over an open engine; the context too, for ``fix``."""
    started_at = datetime.now(timezone.utc)
    clock = time.perf_counter()
    catalog = engine.catalog()
    probes = Probes(engine, catalog)
    scope = resolve_scope(catalog, ruleset, probes)
    validate_rules(ruleset, catalog)
    require_support(ruleset, selected, engine)
    probes = probes.scoped(scope.feeds)
    ctx = CheckContext(
        catalog,
        scope,
        probes,
        started_at,
        restore_point,
        source,
        ruleset.allow_functions,
        _suspicion(ruleset, selected),
    )
    vet_rules(ruleset, ctx, selected)
    if progress:
        chosen = [r for r in ruleset.rules if r.id in selected]
        progress.started(chosen, expected_targets(chosen, scope))
        if hasattr(engine, "on_probe"):  # an engine that reports each probe it runs
            engine.on_probe = progress.target
    results = [_run_rule(ctx, rule, rule.id in selected, progress) for rule in ruleset.rules]
    consistency = getattr(engine, "consistency", "snapshot")
    note = getattr(engine, "consistency_reason", None)
    report = Report(
        tool_version=__version__,
        dsn=engine.target,
        server_version=catalog.server.version.split()[0],  # "15.20", not the distro's suffix
        started_at=started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_s=time.perf_counter() - clock,
        rules=results,
        engine=catalog.server.engine,
        consistency=consistency,
        consistency_note=note,
    )
    return report, ctx


def _suspicion(ruleset: RuleSet, selected: set[str]) -> InferenceSettings | None:
    """The first selected suspected_references rule's settings: `sequences` uses its suspects."""
    for rule in ruleset.rules:
        if rule.check == "suspected_references" and rule.id in selected:
            settings: InferenceSettings = rule.params.settings
            return settings
    return None


def verify_dump(
    dump: Path,
    *,
    rules: RuleSet | None = None,
    rules_paths: Sequence[str | Path] = (),
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    jobs: int = 1,
    keep: bool = False,
    phase: Callable[[str], None] = lambda _: None,
    settings: SessionSettings | None = None,
    restore_point: datetime | None = None,
    baseline: Path | None = None,
    scratch_dsn: str | None = None,
    trust_dump: bool = False,
) -> tuple[Report, str | None]:
    """Restore a dump into a throwaway server and judge it; the DSN too when ``keep``.

    SQLite files and ``.dump`` scripts need no server; a MySQL dump needs ``scratch_dsn``.
    PostgreSQL dumps are restored as an unprivileged owner; ``trust_dump``: as superuser.

    ``restore_errors`` is a rule like the others for ``only``/``skip``: skipped, the
    restore still runs (it must) but its errors are not judged.
    """
    ruleset = rules if rules is not None else load_rules(rules_paths)
    judged = with_baseline_rule(ruleset) if baseline is not None else ruleset
    chosen = select_rules(judged, only, skip, extra=(RESTORE_RULE,))

    checking = replace(settings or SessionSettings(), jobs=jobs)  # the restore's jobs, too

    def judge(dsn: str) -> Report:
        per_engine = load_rules(rules_paths, dsn) if rules_paths else ruleset  # names per engine
        return run_check(
            dsn,
            rules=per_engine,
            skip=[r.id for r in judged.rules if r.id not in chosen],
            settings=checking,
            restore_point=restore_point,
            baseline=baseline,
            allow_none=True,
        )

    from restoregate import verify, verify_engines  # a check needs neither (0.06 s)

    found = verify_engines.kind(Path(dump))
    if found is not None:
        report, kept = verify_engines.verify(
            Path(dump), found, judge, scratch_dsn=scratch_dsn, keep=keep, phase=phase
        )
    elif scratch_dsn is not None:
        raise UsageError("--scratch-dsn is for MySQL/MariaDB dumps; this is not one")
    else:
        report, kept = verify.verify_dump(
            Path(dump), judge, jobs=jobs, keep=keep, trust_dump=trust_dump, phase=phase
        )
    report.subject = f"verify-dump {Path(dump).name}"  # stable: never the temporary server
    if RESTORE_RULE not in chosen and report.rules and report.rules[0].id == RESTORE_RULE:
        report.rules[0] = replace(
            report.rules[0], status="skip", message="skipped by --only/--skip", violations=[]
        )
    return report, kept


def init_rules(
    dsn: str | None,
    *,
    settings: SessionSettings | None = None,
    min_match: float = 0.5,
    engine_factory: EngineFactory = open_engine,
) -> str:
    """A starter rules file for the database: defaults plus every suspected reference."""
    with engine_factory(dsn, settings or SessionSettings()) as engine:
        catalog = engine.catalog()
        probes = Probes(engine, catalog)
        scope = resolve_scope(catalog, default_rules(), probes)
        found = judgement(
            probes.scoped(scope.feeds), scope, InferenceSettings(min_match=min_match), ()
        )
    return render_rules(catalog, found)


def expected_targets(rules: Sequence[Rule], scope: Any) -> int:
    """Probes a run of these rules expects: a column range per sequence-fed column, an
    anti-join per reference (shared by both checks), one per other rule."""
    count = 0
    for rule in rules:
        if rule.check == "sequences":
            count += sum(1 for f in scope.feeds if f.sequence and not f.uncheckable) + 1
        elif rule.check == "references":
            count += len(scope.references)
        else:
            count += 1
    return count


def with_baseline_rule(ruleset: RuleSet) -> RuleSet:
    """``--baseline`` adds a ``baseline`` rule unless the rules file configures one."""
    if any(rule.check == "baseline" for rule in ruleset.rules):
        return ruleset
    rule = Rule(
        id="baseline",
        check="baseline",
        severity="error",
        description="Everything the source's manifest recorded is here, nothing went backwards",
        params=params_class(CHECKS["baseline"])(),
        position=Position("--baseline", 1, 1),
    )
    return replace(ruleset, rules=(*ruleset.rules, rule))


def snapshot(
    dsn: str | None,
    *,
    exact: bool = False,
    roles: Sequence[str] = (),
    snapshot_id: str | None = None,
    settings: SessionSettings | None = None,
) -> dict[str, Any]:
    """A manifest of the source database, read in one snapshot (optionally an exported one)."""
    taken_at = datetime.now(timezone.utc)
    opened = engine_for(dsn).open_engine(dsn, settings or SessionSettings(), snapshot_id)
    with opened as engine:
        catalog = engine.catalog()
        probes = Probes(engine, catalog)
        scope = resolve_scope(catalog, default_rules(), probes)
        return manifests.take(
            probes.scoped(scope.feeds),
            catalog,
            scope,
            exact=exact,
            roles=list(roles),
            snapshot=snapshot_id,
            taken_at=taken_at,
        )


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    manifests.write(manifest, path)


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as ``snapshot -o`` writes it."""
    return manifests.text(manifest)


def validate_rules(ruleset: RuleSet, catalog: Catalog) -> None:
    """Rules that name tables or columns are checked against the catalog: exit 2 if wrong."""
    for rule in ruleset.rules:
        validate = getattr(CHECKS[rule.check], "validate", None)
        if validate is None:
            continue
        try:
            validate(rule.params, catalog, ruleset)
        except ValueError as exc:
            pos = rule.position
            message = ruleset.redact(f"rule {rule.id!r}: {exc}")
            raise RulesError(pos.path, pos.line, pos.col, message) from None


def vet_rules(ruleset: RuleSet, ctx: CheckContext, selected: set[str]) -> None:
    """Before any rule runs, the server vets every rule's SQL: a refusal is exit 2."""
    for rule in ruleset.rules:
        vet = getattr(CHECKS[rule.check], "vet", None)
        if vet is None or rule.id not in selected:
            continue
        try:
            vet(ctx, rule.params)
        except RefusedSql as exc:
            pos = rule.position
            message = ruleset.redact(f"rule {rule.id!r}: {exc.message}")
            raise RulesError(pos.path, pos.line, pos.col, message, exc.hint) from None


def select_rules(
    ruleset: RuleSet,
    only: Sequence[str],
    skip: Sequence[str],
    *,
    extra: Sequence[str] = (),
    allow_none: bool = False,
) -> set[str]:
    """The ids to judge; ``extra`` names rules the command adds (``restore_errors``)."""
    ids = [r.id for r in ruleset.rules] + list(extra)
    for option, given in (("--only", only), ("--skip", skip)):
        for rule_id in given:
            if rule_id not in ids:
                close = difflib.get_close_matches(rule_id, ids, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"rule ids: {', '.join(ids)}"
                raise UsageError(f"{option} {rule_id!r}: no rule has that id", hint)
    chosen = {i for i in ids if (not only or i in only) and i not in skip}
    if not chosen and not allow_none:
        raise UsageError(
            "--only/--skip leave no rule to run: a gate that judged nothing is not open"
        )
    return chosen


def _run_rule(
    ctx: CheckContext, rule: Rule, selected: bool, progress: Progress | None
) -> RuleResult:
    if not selected:
        return _result(rule, Outcome("skipped by --only/--skip"), 0.0, skipped=True)
    if progress:
        progress.rule_started(rule)
    clock = time.perf_counter()
    try:
        outcome = CHECKS[rule.check]().run(ctx, rule.params)
    except CheckFailedToRun as exc:
        outcome = Outcome("", errors=[exc])
    except Exception as exc:  # a bug must close the gate, never open it
        failure = CheckFailedToRun(f"internal error: {exc!r}", "please report this")
        outcome = Outcome("", errors=[failure])
    result = _result(rule, outcome, time.perf_counter() - clock)
    if progress:
        progress.rule_finished(result)
    return result


def _result(rule: Rule, outcome: Outcome, duration: float, *, skipped: bool = False) -> RuleResult:
    status: Status
    hint = None
    message = outcome.message
    if skipped:
        status = "skip"
    elif outcome.errors:
        first, more = outcome.errors[0], len(outcome.errors) - 1
        status, message = "error", scrub(first.message)  # a server's text may quote a DSN
        hint = scrub(first.hint) if first.hint else None
        if more:
            message += f" (and {more} more that could not run)"
    elif outcome.violations or (outcome.unchecked and outcome.unchecked_fails):
        status = "fail" if rule.severity == "error" else "warn"
    elif outcome.advisories or outcome.unchecked:  # nothing unjudged passes silently
        status = "warn"
    else:
        status = "pass"
    return RuleResult(
        id=rule.id,
        check=rule.check,
        severity=rule.severity,
        description=rule.description,
        status=status,
        message=message,
        duration_s=duration,
        violations=outcome.violations,
        unchecked=outcome.unchecked,
        hint=hint,
        advisories=outcome.advisories,
        lists=outcome.lists,
    )
