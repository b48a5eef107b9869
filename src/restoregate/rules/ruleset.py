"""The validated content of one or more rules files (see docs/rules.md).

The loader (``rules_loader``) builds these from YAML; checks and the runner only ever
see these frozen objects, each carrying the file position it came from so that later
errors (a reference naming a table that does not exist) can still point at the line.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Literal

from restoregate.names import ColumnSet, QualifiedName

Severity = Literal["error", "warn"]


@dataclass(frozen=True)
class Position:
    path: str
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class TableFilter:
    """A check's own ``tables:`` patterns (globs over schema.table), within the file's scope.

    ``tables: [public.orders*]`` includes; ``tables: {include: [...], exclude: [...]}``
    does both. No include pattern means every table in scope.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __call__(self, table: QualifiedName) -> bool:
        if not self.include and not self.exclude:
            return True  # the usual filter, asked once per table or feed
        text = f"{table.schema}.{table.name}"
        if self.include and not any(fnmatch.fnmatchcase(text, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(text, p) for p in self.exclude)


@dataclass(frozen=True)
class LogicalReference:
    """A reference the catalog does not declare: ``from`` child columns ``to`` parent key."""

    child: ColumnSet
    parent: ColumnSet
    position: Position  # of the list item
    child_position: Position  # of the ``from`` value
    parent_position: Position  # of the ``to`` value


@dataclass(frozen=True)
class Rule:
    id: str
    check: str
    severity: Severity
    description: str | None
    params: Any  # the check's own frozen ``Params`` dataclass
    position: Position


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    schemas: tuple[str, ...] | None = None  # None: every non-system schema
    exclude: tuple[str, ...] = ()
    references: tuple[LogicalReference, ...] = ()
    not_references: tuple[LogicalReference, ...] = ()  # suspected references dismissed
    sources: tuple[str, ...] = field(default=())
    # allow_functions: user-defined functions (schema.name) rules' SQL may call
    allow_functions: tuple[str, ...] = ()
    # (value, "${NAME}") of substituted variables: errors found later show the name
    redactions: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def redact(self, message: str) -> str:
        for value, name in self.redactions:
            message = message.replace(value, name)
        return message

    def in_scope(self, table: QualifiedName) -> bool:
        """Whether ``schema.table`` is judged: its schema is listed and no exclude matches."""
        if self.schemas is not None and table.schema not in self.schemas:
            return False
        if not self.exclude:
            return True
        text = f"{table.schema}.{table.name}"
        return not any(fnmatch.fnmatchcase(text, pattern) for pattern in self.exclude)
