"""``--restore-point``: the timestamps backup tools and PostgreSQL itself print.

ISO 8601 (``2026-12-01T06:40:06Z``, ``2026-12-01T06:40:06.970+01:00``) and PostgreSQL's
text output (``2026-12-01 06:40:06.970415+00`` from ``psql -Atc "select now()"``):
date, then optionally ``T`` or a space and ``HH:MM[:SS[.fraction]]``, then optionally
``Z`` or an offset ``±HH``, ``±HHMM``, ``±HH:MM`` (``±HH:MM:SS`` as PostgreSQL shows
historic zones). Without an offset the time is UTC, as backup tools log it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

EXAMPLES = "2026-12-01T06:40:06Z or 2026-12-01 06:40:06.970415+00"
_TIMESTAMP = re.compile(
    r"""(?P<date>\d{4}-\d{2}-\d{2})
    (?:[T\ ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?
    \ ?(?P<zone>[Zz]|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2})(?::?(?P<os>\d{2}))?)?)?""",
    re.X,
)


def parse_timestamp(text: str) -> datetime:
    """An aware datetime; ValueError with two examples of what is accepted otherwise."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a timestamp; write it as {EXAMPLES}")
    try:
        return _build(match)
    except ValueError as exc:  # 2026-02-30, 25:00, an offset of 24 hours
        raise ValueError(f"not a valid timestamp ({exc}); write it as {EXAMPLES}") from None


def _build(match: re.Match[str]) -> datetime:
    year, month, day = (int(part) for part in match["date"].split("-"))
    moment = datetime(
        year,
        month,
        day,
        hour=int(match["hour"] or 0),
        minute=int(match["minute"] or 0),
        second=int(match["second"] or 0),
        microsecond=int((match["fraction"] or "0").ljust(6, "0")[:6]),
    )
    return moment.replace(tzinfo=_zone(match))


def _zone(match: re.Match[str]) -> timezone:
    if not match["sign"]:
        return timezone.utc
    offset = timedelta(
        hours=int(match["oh"]), minutes=int(match["om"] or 0), seconds=int(match["os"] or 0)
    )
    return timezone(-offset if match["sign"] == "-" else offset)
