"""What a running check sees, and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from restoregate.catalog import Catalog
from restoregate.errors import CheckFailedToRun
from restoregate.inference import Settings
from restoregate.probes import Probes
from restoregate.report import Unchecked, Violation
from restoregate.scope import Scope


@dataclass(frozen=True)
class CheckContext:
    catalog: Catalog
    scope: Scope
    probes: Probes
    now: datetime  # when the check started, aware, UTC
    restore_point: datetime | None = None  # --restore-point: when the backup was taken
    baseline: dict[str, Any] | None = None  # --baseline: the source's manifest
    allow_functions: tuple[str, ...] = ()  # the rules files' allow_functions (schema.name)
    # the suspected_references rule's settings, so that `sequences` uses the same suspects
    suspicion: Settings | None = None


@dataclass
class Outcome:
    """A check's result before the runner turns it into a status: pass when no violations."""

    message: str
    violations: list[Violation] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    errors: list[CheckFailedToRun] = field(default_factory=list)  # probes that could not run
    advisories: list[Violation] = field(default_factory=list)  # warn whatever the severity
    unchecked_fails: bool = False  # the rule asked that anything unchecked fail it
    # named lists a report shows even when the rule passes, e.g. intact suspected references
    lists: dict[str, list[str]] = field(default_factory=dict)
