"""``--format json``: the contract's report, one document, nothing else on the stream.

Values stay exact (a parser reads back what the database held), but characters that
could act on a terminal or a log when the file is merely looked at (DEL, C1 controls
such as CSI, bidi overrides, line separators, lone surrogates) are written as ``\\uXXXX``
escapes, which JSON parsers decode to the same string.
"""

from __future__ import annotations

import json
from typing import TextIO

from restoregate.report import Report
from restoregate.report.escape import is_hidden


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    stream.write(_inert(text))
    stream.write("\n")


def _inert(text: str) -> str:
    if text.isprintable() or all(c == "\n" or not is_hidden(c) for c in text):
        return text
    return "".join(_escape(c) if c != "\n" and is_hidden(c) else c for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
