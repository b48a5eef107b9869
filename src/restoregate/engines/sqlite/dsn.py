"""``sqlite:///relative.db`` and ``sqlite:////absolute.db`` (SQLAlchemy's spelling)."""

from __future__ import annotations

from pathlib import Path

from restoregate.errors import UsageError

PREFIX = "sqlite://"


def parse(dsn: str) -> Path:
    text = dsn.strip()
    rest = text[len(PREFIX) :] if text.lower().startswith(PREFIX) else ""
    if not rest.startswith("/") or len(rest) < 2 or "?" in rest:
        raise UsageError(
            "--dsn sqlite://…: write sqlite:///relative.db or sqlite:////absolute/path.db"
        )
    return Path(rest[1:])


def describe(dsn: str | None) -> str:
    try:
        path = parse(dsn or "")
    except UsageError:
        return "(unparsable DSN)"
    return f"sqlite:///{path}"
