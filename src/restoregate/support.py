"""Whether the engine can run the selected rules: decided before anything is read.

A check lists the requests it needs (``needs``); a rule whose check needs one the engine
does not answer is a rules error naming the engine (exit 2). ``sql`` and ``unique`` text
is parsed again in the engine's dialect, so a rules file read without a DSN (``rules
lint``) is still judged by the engine that runs it.
"""

from __future__ import annotations

from typing import Any

from restoregate.checks import CHECKS
from restoregate.engines.base import Engine, Extensions, Request
from restoregate.errors import RulesError
from restoregate.rules.ruleset import Rule, RuleSet


def require_support(ruleset: RuleSet, selected: set[str], engine: Engine) -> None:
    """A selected rule whose check this engine cannot run is a rules error naming the engine."""
    for rule in ruleset.rules:
        if rule.id not in selected:
            continue
        needs: tuple[type[Request[Any]], ...] = getattr(CHECKS[rule.check], "needs", ())
        if rule.check == "catalog" and rule.params.require_extensions:
            needs = (*needs, Extensions)
        missing = [n for n in needs if not engine.answers(n)]
        pos = rule.position
        try:
            _check_dialect(rule, engine.dialect)
        except ValueError as exc:
            raise RulesError(pos.path, pos.line, pos.col, f"rule {rule.id!r}: {exc}") from None
        if missing:
            raise RulesError(
                pos.path,
                pos.line,
                pos.col,
                f"rule {rule.id!r}: check {rule.check} cannot run on {engine.name} "
                f"({missing[0].what} is not supported there)",
                f"remove the rule or skip it with --skip {rule.id}",
            )


def _check_dialect(rule: Rule, dialect: str) -> None:
    """``sql`` and ``unique`` text was parsed as PostgreSQL; other engines parse it again."""
    if dialect == "postgres" or rule.check not in ("sql", "unique"):
        return
    from restoregate import dialects  # sqlglot: only for rules with SQL

    if rule.check == "sql":
        dialects.check_query(rule.params.sql, dialect)
    elif rule.check == "unique":
        for text in rule.params.columns:
            dialects.expression_sql(text, dialect)
