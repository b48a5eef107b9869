"""Check types. Registration is this one explicit dict: YAML name -> class."""

from __future__ import annotations

from restoregate.checks.base import Check
from restoregate.checks.baseline import Baseline
from restoregate.checks.catalog import Catalog
from restoregate.checks.freshness import Freshness
from restoregate.checks.not_null import NotNull
from restoregate.checks.privileges import Privileges
from restoregate.checks.references import References
from restoregate.checks.row_count import RowCountCheck
from restoregate.checks.sequences import Sequences
from restoregate.checks.sql import Sql
from restoregate.checks.suspected_references import SuspectedReferences
from restoregate.checks.unique import Unique

CHECKS: dict[str, type[Check]] = {
    Sequences.name: Sequences,
    References.name: References,
    Unique.name: Unique,
    NotNull.name: NotNull,
    RowCountCheck.name: RowCountCheck,
    Freshness.name: Freshness,
    Sql.name: Sql,
    Catalog.name: Catalog,
    Privileges.name: Privileges,
    SuspectedReferences.name: SuspectedReferences,
    Baseline.name: Baseline,
}

__all__ = ["CHECKS", "Check"]
