"""Making names and data harmless where a report lands.

Object names, keys and database messages come from the restored database, so they are
untrusted: a table name can hold a newline, an ANSI escape or ``[bold]``. Every renderer
passes such text through ``printable`` (and, per format, the escaping below), so data
can never start a line of its own, colour a terminal or forge a verdict.
"""

from __future__ import annotations

import re
import unicodedata

# Categories that can move the cursor, start a line or reorder what is shown:
# controls (C0, DEL, C1: ANSI escapes), format characters (bidi overrides, zero-width),
# line and paragraph separators, surrogates (cannot even be encoded) and unassigned
# code points (XML 1.0 forbids U+FFFE and U+FFFF).
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def is_hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN


def printable(text: str) -> str:
    """``text`` on one line with every control or invisible character written as ``\\x1b``."""
    if text.isprintable():  # fast path; isprintable() is False for all of _HIDDEN
        return text
    return "".join(_escape_char(c) if is_hidden(c) else c for c in text)


# CommonMark lets any ASCII punctuation be backslash-escaped. Inline, these start markup
# (GitHub adds ~ strikethrough and $ math, | ends a table cell); <, > and & become
# entities so no HTML, autolink or entity reaches the page. At the start of a list item
# or cell, a heading, quote, list marker or rule could begin: that character is escaped.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]|~$])")
_MARKDOWN_BLOCK = re.compile(r"^(\s*)([#+=-]|\d+[.)])")  # > becomes &gt; below
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text: str) -> str:
    """Data as inert Markdown text: one line, no markup, no HTML, no table-cell break."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", printable(text))
    escaped = _MARKDOWN_BLOCK.sub(lambda m: f"{m.group(1)}{_escape_block(m.group(2))}", escaped)
    return "".join(_HTML.get(c, c) for c in escaped)


def markdown_code(text: str, *, in_table: bool = False) -> str:
    """Data as a code span: a fence longer than any run of backticks inside it."""
    body = printable(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`") or not body.strip():
        body = f" {body} "
    if in_table:
        body = body.replace("|", "\\|")  # GFM splits cells before reading code spans
    return f"{fence}{body}{fence}"


def _escape_block(marker: str) -> str:
    return marker[:-1] + "\\" + marker[-1] if marker[-1] in ".)" else "\\" + marker


def workflow_data(text: str) -> str:
    """GitHub Actions workflow-command escaping of a message (after ``printable``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """Escaping of a property value (``title=…``): also ``:`` and ``,``."""
    return workflow_data(printable(text)).replace(":", "%3A").replace(",", "%2C")
