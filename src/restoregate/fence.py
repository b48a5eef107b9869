"""A fence the database enforces: application roles cannot log in until the gate opens.

``fence lock`` records, for each role, what it changed (could the role log in before,
what its comment was) on the role itself, so the record lives as long as the role, and
a restore that drops and re-creates the database does not lose it. ``check --release``
restores exactly that state, and only when the gate opens. Neutral: the engines store
and apply it (``ALTER ROLE … NOLOGIN`` and ``COMMENT ON ROLE`` on PostgreSQL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from restoregate.errors import UsageError

MARK = "restoregate-fence v1: "


@dataclass(frozen=True)
class FenceRecord:
    """What ``fence lock`` changed on one role, so it can be put back exactly."""

    login: bool  # the role could log in before the fence
    comment: str | None  # the role's comment before the fence
    at: str  # when, ISO 8601 UTC
    by: str  # the role that set it

    @classmethod
    def now(cls, login: bool, comment: str | None, by: str) -> FenceRecord:
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(login, comment, at, by)

    def encode(self) -> str:
        fields = {"login": self.login, "comment": self.comment, "at": self.at, "by": self.by}
        return MARK + json.dumps(fields, ensure_ascii=True, sort_keys=True)

    @classmethod
    def decode(cls, role: str, text: str | None) -> FenceRecord | None:
        """The record in a role's comment; None when the comment is not one."""
        if text is None or not text.startswith(MARK):
            return None
        try:
            data: Any = json.loads(text[len(MARK) :])
            record = cls(bool(data["login"]), data["comment"], str(data["at"]), str(data["by"]))
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"role {role}: its comment starts like a restoregate fence but is not one",
                "look at it (\\drds or COMMENT ON ROLE), then fix or remove it by hand",
            ) from None
        if record.comment is not None and not isinstance(record.comment, str):
            raise UsageError(f"role {role}: the fence record's comment is not text")
        return record


@dataclass(frozen=True)
class RoleState:
    name: str
    can_login: bool
    comment: str | None
    sessions: int  # connections the role has open now
    fence: FenceRecord | None

    def describe(self) -> str:
        sessions = f"; {self.sessions} session(s) still connected" if self.sessions else ""
        if self.fence is None:
            login = "can log in" if self.can_login else "cannot log in (not a restoregate fence)"
            return f"{self.name}: not fenced, {login}{sessions}"
        before = "could log in" if self.fence.login else "could not log in either"
        return (
            f"{self.name}: fenced since {self.fence.at} by {self.fence.by} (before, it "
            f"{before}){sessions}"
        )
