"""The verdict: what each rule found, in a shape renderers and JSON consumers share."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal

from restoregate.errors import EXIT_CLOSED, EXIT_INCOMPLETE, EXIT_OPEN

Status = Literal["pass", "fail", "warn", "error", "skip"]
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Violation:
    """One finding. Subclasses add their fields; ``kind`` names them in JSON."""

    kind: ClassVar[str] = "violation"

    def describe(self) -> str:
        """One sentence a DBA understands at a glance."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **_jsonable(dataclasses.asdict(self))}


@dataclass(frozen=True)
class Unchecked:
    """Something a check could not judge, said out loud instead of passed silently."""

    subject: str
    reason: str


@dataclass
class RuleResult:
    id: str
    check: str
    severity: str
    status: Status
    message: str
    description: str | None = None
    duration_s: float = 0.0
    violations: list[Violation] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    hint: str | None = None
    advisories: list[Violation] = field(default_factory=list)  # findings that only warn
    lists: dict[str, list[str]] = field(default_factory=dict)  # e.g. intact_references

    def findings(self) -> list[str]:
        """Every finding as one sentence: violations, advisories, then what went unjudged."""
        judged = [v.describe() for v in self.violations + self.advisories]
        return judged + [f"unchecked: {u.subject}: {u.reason}" for u in self.unchecked]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "check": self.check,
            "severity": self.severity,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "message": self.message,
            "violations": [v.to_dict() for v in self.violations],
        }
        if self.description:
            out["description"] = self.description
        if self.advisories:
            out["advisories"] = [v.to_dict() for v in self.advisories]
        if self.unchecked:
            out["unchecked"] = [dataclasses.asdict(u) for u in self.unchecked]
        if self.hint:
            out["hint"] = self.hint
        for name, items in self.lists.items():
            out[name] = list(items)
        return out


ENGINE_NAMES = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "sqlite": "SQLite",
}


@dataclass(frozen=True)
class RunFailure:
    """Why a run ended before it could judge (exit 2 or 3, or interrupted)."""

    exit_code: int
    message: str


@dataclass
class Report:
    tool_version: str
    dsn: str
    server_version: str | None
    started_at: str  # ISO 8601, UTC, "Z"
    duration_s: float
    rules: list[RuleResult]
    engine: str | None = None  # postgresql, mysql, mariadb, sqlite
    # "snapshot": every result describes one instant; "per-batch": each batch of probes
    # does, the run as a whole does not (no exportable snapshot), for ``consistency_note``
    consistency: str = "snapshot"
    consistency_note: str | None = None
    subject: str = ""  # what was judged, for names that must be stable; default: the DSN
    failure: RunFailure | None = None  # set when nothing (or not everything) was judged

    @classmethod
    def failed(
        cls, tool_version: str, exit_code: int, message: str, *, dsn: str = "", subject: str = ""
    ) -> Report:
        """The report a run leaves behind when it ends in exit 2 or 3: never a pass."""
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        failure = RunFailure(exit_code or EXIT_INCOMPLETE, message)  # never 0
        return cls(tool_version, dsn, None, now, 0.0, [], subject=subject, failure=failure)

    @property
    def title(self) -> str:
        return self.subject or self.dsn

    @property
    def server_label(self) -> str:
        """``PostgreSQL 18.1``, ``MariaDB 10.11.19``: the engine's name and version."""
        name = ENGINE_NAMES.get(self.engine or "postgresql", self.engine or "")
        return f"{name} {(self.server_version or '?').split()[0]}"

    @property
    def passed(self) -> bool:
        judged = all(r.status in ("pass", "warn", "skip") for r in self.rules)
        return self.failure is None and judged

    def count(self, status: Status) -> int:
        return sum(1 for r in self.rules if r.status == status)

    @property
    def exit_code(self) -> int:
        if self.failure is not None:
            return self.failure.exit_code
        if self.count("error"):
            return EXIT_INCOMPLETE
        return EXIT_OPEN if self.passed else EXIT_CLOSED

    def to_dict(self) -> dict[str, Any]:
        out = self._to_dict()
        if self.failure is not None:
            out["error"] = {"exit_code": self.failure.exit_code, "message": self.failure.message}
        return out

    def _to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "restoregate", "version": self.tool_version},
            "database": {
                "dsn": self.dsn,
                "server_version": self.server_version,
                "engine": self.engine,
                "consistency": self.consistency,
            },
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "passed": self.passed,
            "summary": {
                "rules": len(self.rules),
                **{s: self.count(s) for s in ("pass", "fail", "warn", "error", "skip")},
            },
            "rules": [r.to_dict() for r in self.rules],
        }


def number(value: Any) -> str:
    """Integers with thousands separators, as a DBA reads them; anything else as is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 rule``, ``2 rules``, ``1,000 entries`` (give ``nouns`` when adding s is wrong)."""
    return f"{number(count)} {noun if count == 1 else (nouns or noun + 's')}"


def _jsonable(value: Any) -> Any:
    """Keys from the database as JSON: numbers and strings stay, the rest becomes text."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
