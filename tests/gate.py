"""Running the gate from tests: rules written inline, reports asserted on."""

from __future__ import annotations

import textwrap
from typing import Any

from restoregate import api
from restoregate.report import Report, RuleResult
from restoregate.rules.loader import load_rules_text

DEFAULT = """
version: 1
rules:
  - {id: sequences, check: sequences}
  - {id: references, check: references}
"""


def gate(dsn: str, rules: str = DEFAULT, **options: Any) -> Report:
    """Run the check on ``dsn`` with the rules YAML given inline."""
    ruleset = load_rules_text(textwrap.dedent(rules), "test.yaml")
    return api.run_check(dsn, rules=ruleset, **options)


def rule(report: Report, rule_id: str) -> RuleResult:
    return next(r for r in report.rules if r.id == rule_id)


def violations(report: Report, rule_id: str) -> list[dict[str, Any]]:
    return [v.to_dict() for v in rule(report, rule_id).violations]


def logical(child: str, parent: str) -> str:
    return DEFAULT + f"references:\n  - from: {child}\n    to: {parent}\n"
