"""What a running check sees (placeholder: filled in with the catalog and probes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckContext:
    catalog: Any = None
    probes: Any = None
    rules: Any = None


@dataclass
class Outcome:
    message: str
    violations: list[Any] = field(default_factory=list)
