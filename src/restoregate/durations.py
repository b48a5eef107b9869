"""The one duration grammar every option and rules key uses.

A duration is one or more parts, each a number and a unit, largest unit first:
``500ms``, ``30s``, ``90m``, ``15min``, ``2h``, ``1h30m``, ``1.5h``, ``7d``, ``2w``.
Units: ``ms``, ``s``, ``m``/``min``, ``h``, ``d``, ``w``. Errors show two examples, never a
pattern. ``bounded`` adds the limits a caller needs (a timeout is never zero).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

__all__ = ["EXAMPLES", "bounded", "format_duration", "parse_duration"]

EXAMPLES = "30s or 1h30m"
MAX_TEXT = 64  # characters; a duration is a word, not a document
_PART = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|min|s|m|h|d|w)(?![a-z])", re.IGNORECASE)
_MS = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
}
_ORDER = ("w", "d", "h", "m", "s", "ms")  # min is m
_MAX_MS = 10_000 * 365 * 86_400_000  # beyond any sensible duration, far below overflow


def parse_duration(text: str, what: str) -> timedelta:
    """``text`` as a duration; ``ValueError("WHAT: ...")`` when it is not one."""
    return timedelta(milliseconds=_milliseconds(text, what))


def _milliseconds(text: str, what: str) -> int:
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ValueError(f"{what}: that is not a duration; write e.g. {EXAMPLES}")
    total, position, last = Decimal(0), 0, -1
    for match in _PART.finditer(text):
        unit = match.group(2).lower()
        rank = _ORDER.index("m" if unit == "min" else unit)
        if match.start() != position or rank <= last:
            break
        try:
            total += Decimal(match.group(1)) * _MS[unit]
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            break
        position, last = match.end(), rank
    else:
        if position and not text[position:].strip() and total <= _MAX_MS:
            return int(total.to_integral_value())
    if position and not text[position:].strip():
        raise ValueError(f"{what}: {_shown(text)} is too long a duration; write e.g. {EXAMPLES}")
    raise ValueError(f"{what}: {_shown(text)} is not a duration; write e.g. {EXAMPLES}")


def bounded(text: str, what: str, low: timedelta, high: timedelta) -> timedelta:
    """A duration within ``[low, high]``; zero and negative ones are refused with the bounds."""
    stripped = text.strip() if isinstance(text, str) else text
    if isinstance(stripped, str) and stripped.startswith("-"):
        raise ValueError(f"{what}: {_shown(text)} is negative; {_bounds(low, high)}")
    value = parse_duration(text, what)
    if value < low or value > high:
        problem = "is zero" if not value else "is out of range"
        raise ValueError(f"{what}: {_shown(text)} {problem}; {_bounds(low, high)}")
    return value


def format_duration(value: timedelta) -> str:
    """The shortest text of the grammar for ``value`` (whole milliseconds)."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    parts = []
    units = _ORDER if ms >= 2 * _MS["d"] else _ORDER[2:]  # 24h reads better than 1d
    for unit in units:
        amount, ms = divmod(ms, _MS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def _bounds(low: timedelta, high: timedelta) -> str:
    return f"write from {format_duration(low)} to {format_duration(high)}, e.g. {EXAMPLES}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
