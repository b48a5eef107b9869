"""Values from the database as a DBA writes them: SQL literals, never Python reprs.

``1``, ``1.5``, ``'a''b'``, ``NULL``, ``TRUE``, ``'2026-01-01 00:00:00+00'``,
``ARRAY[1, 2]``. A string holding a control character or a backslash becomes an
``E'…'`` literal with the character escaped, so the literal stays on one line and
still means exactly the stored value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from restoregate.report.escape import is_hidden

_PLAIN_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_$]*$")


def sql_literal(value: Any) -> str:
    """One value as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        return _number(value)
    if isinstance(value, (datetime, date, time, timedelta)):
        return _quote(_temporal(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "'\\x" + bytes(value).hex() + "'"  # bytea hex input, standard string
    if isinstance(value, Mapping):
        return _quote(json.dumps(value, ensure_ascii=False, default=str))
    if isinstance(value, (list, tuple)):
        return "ARRAY[" + ", ".join(sql_literal(v) for v in value) + "]"
    return _quote(str(value))


def sql_tuple(values: Sequence[Any]) -> str:
    """A key of one column as its literal, a key of several as a row: ``(1, 'a')``."""
    if len(values) == 1:
        return sql_literal(values[0])
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


def sql_row(row: Mapping[str, Any]) -> str:
    """A result row as ``id = 1, total = 1.5``."""
    return ", ".join(f"{identifier(k)} = {sql_literal(v)}" for k, v in row.items())


def identifier(name: str) -> str:
    """A column name as SQL would need it written: bare when it can be, else quoted."""
    if _PLAIN_IDENTIFIER.match(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _number(value: float | Decimal) -> str:
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else _quote(_special(str(value)))
    if math.isfinite(value):
        return repr(value)
    return _quote(_special(str(value)))


def _special(text: str) -> str:
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(text.lower(), text)


def _temporal(value: datetime | date | time | timedelta) -> str:
    if isinstance(value, timedelta):
        return _interval(value)
    if isinstance(value, (datetime, time)):
        text = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
        return re.sub(r"([+-]\d\d):00$", r"\1", text)  # +00:00 -> +00, as PostgreSQL shows it
    return value.isoformat()


def _interval(value: timedelta) -> str:
    days, seconds = value.days, value.seconds
    clock = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if value.microseconds:
        clock += f".{value.microseconds:06d}"
    return f"{days} {'day' if days in (1, -1) else 'days'} {clock}" if days else clock


def _quote(text: str) -> str:
    if "\\" not in text and not any(is_hidden(c) for c in text):
        return "'" + text.replace("'", "''") + "'"
    return "E'" + "".join(_e_char(c) for c in text) + "'"


def _e_char(char: str) -> str:
    if char in "\\'":
        return "\\" + char
    if not is_hidden(char):
        return char
    code = ord(char)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    if char in named:
        return named[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
