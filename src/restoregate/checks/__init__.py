"""Check types. Registration is this one explicit dict: YAML name -> class."""

from __future__ import annotations

from restoregate.checks.base import Check
from restoregate.checks.references import References
from restoregate.checks.sequences import Sequences

CHECKS: dict[str, type[Check]] = {
    Sequences.name: Sequences,
    References.name: References,
}

__all__ = ["CHECKS", "Check"]
