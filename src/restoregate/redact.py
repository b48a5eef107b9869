"""Keeping passwords out of everything restoregate prints or writes.

A DSN reaches output in error messages, reports and ``--keep`` hints. libpq quotes parts
of a DSN it cannot parse (``invalid percent-encoded token: "pa%zz"``) and parses some
broken ones into nonsense (an unencoded ``/`` in a URI password makes the password the
port), so masking the parsed password is not enough: the secret is found in the text
the user gave, where a person would see it, and masked there and in every message.

- URI (any scheme): everything after the first ``:`` of the part between ``://`` and
  the *last* ``@`` (``postgresql://app:***@db/prod``), and ``password=`` query values.
- ``key=value``: the value of ``password=``/``sslpassword=`` up to the next ``key=`` (an
  unquoted value with a space is still one secret).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")
_QUERY_SECRET = re.compile(r"[?&](?:ssl)?password=([^&#]*)")
_KEYWORD_SECRET = re.compile(
    r"\b(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*(?:'|$)|.*?(?=\s+\w+\s*=|\s*$))", re.DOTALL
)
_QUOTED = re.compile(r""""([^"]*)"|'([^']*)'""")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# In free text (any line we print): URIs with a password, and password= values.
_TEXT_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s@]*:)(\S*)@")
_TEXT_KEYWORD = re.compile(r"(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)")


def secret_spans(dsn: str) -> list[tuple[int, int]]:
    """Where the secrets are in ``dsn``, as (start, end) offsets."""
    match = _SCHEME.match(dsn)
    if not match:
        return [m.span(1) for m in _KEYWORD_SECRET.finditer(dsn) if m.group(1)]
    spans = []
    start, at = _userinfo(dsn, match.end())
    colon = dsn.find(":", start, at)
    if colon >= 0:
        spans.append((colon + 1, at))
    spans += [m.span(1) for m in _QUERY_SECRET.finditer(dsn, at) if m.group(1)]
    return spans


def _userinfo(dsn: str, start: int) -> tuple[int, int]:
    """The user-and-password part of a URI: ``://`` to the last ``@`` (empty if none).

    ``@`` inside the query (``?sslcert=/home/a@b/…``, after a ``key=``) ends no
    userinfo; a ``?`` with no ``=`` before the last ``@`` is part of a password.
    """
    at = dsn.rfind("@", start)
    query = dsn.find("?", start)
    if 0 <= query < at and "=" in dsn[query:at]:
        at = dsn.rfind("@", start, query)
    return (start, at) if at >= 0 else (start, start)


def uri_problem(dsn: str | None) -> str | None:
    """Why a URI's user and password would not parse as written, or None.

    An unencoded ``@``, ``/``, ``?`` or ``#`` there moves the host part (the password's
    tail would become the host, and the rest of the password would be sent to it); a
    ``%`` must start an escape. Such a DSN is refused before any connection is tried.
    """
    match = _SCHEME.match(dsn or "")
    if not match:
        return None
    start, at = _userinfo(dsn or "", match.end())
    userinfo = (dsn or "")[start:at]
    for char in "@/?#":
        if char in userinfo:
            return f"the user or password holds an unencoded {char!r}"
    if _BAD_PERCENT.search(userinfo):
        return "the user or password holds a '%' that starts no %XX escape"
    return None


def secrets(dsn: str | None) -> list[str]:
    """The secret texts of ``dsn``, as written and percent-decoded."""
    found: set[str] = set()
    for start, end in secret_spans(dsn or ""):
        raw = (dsn or "")[start:end]
        found.update({raw, unquote(raw), raw.strip("'")})
    return sorted((s for s in found if s), key=len, reverse=True)


def mask_dsn(dsn: str) -> str:
    """``dsn`` as given, with every secret replaced by ``***``."""
    out, last = [], 0
    for start, end in sorted(secret_spans(dsn)):
        out += [dsn[last:start], MASK]
        last = end
    return "".join(out) + dsn[last:]


def redact(message: str, dsn: str | None) -> str:
    """``message`` (say, libpq's error about ``dsn``) with no part of ``dsn``'s secrets."""
    hidden = secrets(dsn)
    if hidden:

        def quoted(match: re.Match[str]) -> str:
            text = match.group(1) if match.group(1) is not None else match.group(2)
            quote = match.group(0)[0]
            if text and (any(text in s or s in text for s in hidden) or _overlaps(text, dsn)):
                return f"{quote}{mask_dsn(text) if text == dsn else MASK}{quote}"
            return match.group(0)

        message = _QUOTED.sub(quoted, message)
        for secret in hidden:
            if len(secret) >= 4 or secret == dsn:
                message = message.replace(secret, MASK)
    return scrub(message)


def _overlaps(fragment: str, dsn: str | None) -> bool:
    """Whether ``fragment`` is a piece of ``dsn`` that covers part of a secret."""
    spans = secret_spans(dsn or "")
    start = (dsn or "").find(fragment)
    while start >= 0:
        end = start + len(fragment)
        if any(start < s_end and s_start < end for s_start, s_end in spans):
            return True
        start = (dsn or "").find(fragment, start + 1)
    return False


def scrub(text: str) -> str:
    """Any line of output: mask URI passwords and ``password=`` values wherever they are."""
    text = _TEXT_URI.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}@", text)
    return _TEXT_KEYWORD.sub(lambda m: f"{m.group(1)}{MASK}", text)
