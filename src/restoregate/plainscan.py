"""Vet a plain-SQL dump before psql sees it: psql's own language must stay unused.

psql runs a plain dump with ``\\restrict`` and a random key (the first defence); this is
the second, for the day that mode is escaped again. The script is read as psql's lexer
reads it and copied to a private file, and the restore is refused when anything in it
would make psql act on the client side:

- a backslash outside string literals, quoted identifiers, comments and COPY data (a
  meta-command: ``\\!``, ``\\copy … program``, ``\\o |cmd``, ``\\c``, ``\\i``, ``\\set``…);
- a psql variable reference (``:name``, ``:'name'``, ``:"name"``, ``:{?name}``): psql
  lexes a variable's value again, and ``LAST_ERROR_MESSAGE`` is the server's text;
- COPY data holding any backslash escape the COPY text format does not define;
- text that psql could lex differently from this reading: ``standard_conforming_strings``
  may be switched off by the dump, so every line is read both ways.

Not covered (README, Security model): a client encoding such as GBK or SJIS makes psql
read the byte after some non-ASCII characters as part of them. A dump that switches to
one through dynamic SQL could make psql lex it differently; any mention of
``client_encoding`` besides pg_dump's own ``SET client_encoding = 'UTF8';`` is refused,
but that is a tripwire, not a defence: there ``\restrict`` stands alone.

psql must also stop at the first error (``ON_ERROR_STOP``): when a ``COPY … FROM stdin``
fails, psql reads the data that follows as script, which no vetting can foresee.

pg_dump's own ``\\restrict``/``\\unrestrict`` lines are dropped (psql gets our key), and
single-line ``ALTER … OWNER TO``, ``GRANT`` and ``REVOKE`` statements are dropped as
``pg_restore --no-owner --no-privileges`` drops them: the roles are not in the dump.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from restoregate.errors import RestoregateError

_HI = "\x80-\U0010ffff"
_INT = "[0-9](?:_?[0-9])*"
_TOP = re.compile(
    rf"""(?P<ws>\s+)|(?P<lcomment>--[^\n\r]*)|(?P<bcomment>/\*)|(?P<estr>[eE]')
    |(?P<ustr>[uU]&')|(?P<uident>[uU]&")|(?P<bxstr>[bBxX]')|(?P<nstr>[nN](?='))
    |(?P<ident>[A-Za-z_{_HI}][A-Za-z0-9_${_HI}]*)
    |(?P<realfail>(?:{_INT}(?:\.(?:{_INT})?)?|\.{_INT})(?=[eE]'))
    |(?P<number>[0-9][0-9_]*(?:[A-Za-z_{_HI}][A-Za-z0-9_${_HI}]*)?)
    |(?P<dollar>\$(?:[A-Za-z_{_HI}][A-Za-z0-9_{_HI}]*)?\$)|(?P<param>\$[0-9]+)
    |(?P<quote>')|(?P<dquote>")|(?P<cast>::)|(?P<var>:(?:[A-Za-z_{_HI}]|'|"|\{{\?))
    |(?P<backslash>\\)|(?P<semi>;)|(?P<lparen>\()|(?P<rparen>\))|(?P<other>.)""",
    re.X | re.S,
)
_PLAIN = re.compile(r"[^'\"$\\:;()\-/&]+")  # no token in it changes the lexer's state
_WORD_CHARS = re.compile(rf"[A-Za-z0-9_{_HI}]")
_END = {"sq": re.compile(r"'"), "eq": re.compile(r"[\\']"), "dq": re.compile(r'"')}
_COMMENT = re.compile(r"/\*|\*/")
_RESTRICT = re.compile(r"\\(?:un)?restrict [A-Za-z0-9]+")
_COPY = re.compile(r"COPY \S.* FROM stdin;")
_DROPPED = re.compile(r"(?:ALTER [A-Z ]+ .* OWNER TO |GRANT |REVOKE |ALTER DEFAULT PRIVILEGES ).*;")
_COPY_ESCAPES = re.compile(rb"\\[\\bfnrtvN]")
_ENCODING = re.compile(r"client_encoding", re.IGNORECASE)
_HEADER_ENCODING = "SET client_encoding = 'UTF8';"


@dataclass
class _Lexer:
    """psql's lexer (psqlscan.l) in the states that decide where a backslash counts."""

    plain_quote: str  # "sq" with standard_conforming_strings on, "eq" with it off
    state: str = "top"
    tag: str = ""  # closing delimiter of a dollar-quoted string
    depth: int = 0  # block comment nesting
    after: str = ""  # kind of the string just closed: a quote after a newline continues it
    newline: bool = False
    pending: bool = False  # the current statement has text
    parens: int = 0
    begin: int = 0
    words: list[str] = field(default_factory=list)

    def at_start(self) -> bool:
        return self.state == "top" and not self.pending and not self.after

    def scan(self, line: str) -> int:
        """Lex one line (with its newline); return how many statements ended in it."""
        pos, ended = 0, 0
        while pos < len(line):
            if self.state == "top":
                pos, done = self._top(line, pos)
                ended += done
            elif self.state == "dollar":
                end = line.find(self.tag, pos)
                if end < 0:
                    return ended
                pos, self.state = end + len(self.tag), "top"
            elif self.state == "block":
                pos = self._block(line, pos)
            else:
                pos = self._string(line, pos)
        return ended

    def _top(self, line: str, pos: int) -> tuple[int, int]:
        if not self.after and not self._routine_possible():
            end = self._plain_run(line, pos)
            if end > pos:
                self.pending = self.pending or bool(line[pos:end].strip())
                return end, 0
        match = _TOP.match(line, pos)
        assert match is not None and match.lastgroup is not None
        kind, text = match.lastgroup, match.group()
        if self.after and not self._continues(kind, text):
            self.after = ""
        if kind in ("ws", "lcomment", "nstr"):
            return match.end(), 0
        if kind == "backslash":
            command = line[pos:].split()[0][:20]
            if command in ("\\c", "\\connect"):
                command += "; a --create or pg_dumpall dump: dump one database without --create"
            raise _Refused(f"a psql meta-command ({command})")
        if kind == "var":
            raise _Refused(f"a psql variable reference ({line[pos:].split()[0][:20]})")
        self.pending = True
        if kind == "ident":
            self._word(text.lower())
        elif kind in ("lparen", "rparen"):
            self.parens = max(0, self.parens + (1 if kind == "lparen" else -1))
        elif kind == "semi" and not self.parens and not self.begin:
            self.pending, self.words = False, []
            return match.end(), 1
        elif kind == "bcomment":
            self.state, self.depth = "block", 1
        elif kind == "dollar":
            self.state, self.tag = "dollar", text
        elif kind in ("quote", "estr", "ustr", "bxstr", "uident", "dquote"):
            self.state = {"quote": self.plain_quote, "estr": "eq", "uident": "dq"}.get(kind, "sq")
            self.state = "dq" if kind == "dquote" else self.state
        return match.end(), 0

    @staticmethod
    def _plain_run(line: str, pos: int) -> int:
        """Where a run of uneventful text ends (the fast path).

        A word right before a quote, ``$`` or ``&`` is left to the token rules: it may be
        a prefix (``E'``, ``U&'``), or a ``$`` may continue it (``a$b$``).
        """
        match = _PLAIN.match(line, pos)
        if match is None:
            return pos
        end = match.end()
        if end < len(line) and line[end] in "'\"$&":
            while end > pos and _WORD_CHARS.match(line[end - 1]):
                end -= 1
        return end

    def _routine_possible(self) -> bool:
        """Could this statement still be CREATE [OR REPLACE] FUNCTION/PROCEDURE?"""
        words = self.words
        pattern = ("c", "o", "r")
        for i, letter in enumerate(pattern):
            if len(words) <= i:
                return True
            if i == 1 and words[1] in ("f", "p"):
                return True
            if words[i] != letter:
                return False
        return len(words) <= 3 or words[3] in ("f", "p")

    def _continues(self, kind: str, text: str) -> bool:
        """After a string: ``'a'<newline>'b'`` is one string (psql's xqs state)."""
        if kind == "ws":
            self.newline = self.newline or "\n" in text or "\r" in text
            return True
        if kind == "lcomment":
            return self.newline
        if kind == "quote" and self.newline:
            if self.after != self.plain_quote:
                raise _Refused("a string continued on a later line, readable two ways")
            return True
        return False

    def _word(self, word: str) -> None:
        """BEGIN … END in CREATE FUNCTION/PROCEDURE bodies holds semicolons (psqlscan.l)."""
        noted = ("create", "function", "procedure", "or", "replace")
        self.words.append(word[:1] if word in noted and len(self.words) < 4 else "")
        head = self.words[:4] + [""] * 4
        routine = head[0] == "c" and (
            head[1] in ("f", "p") or (head[1] == "o" and head[2] == "r" and head[3] in ("f", "p"))
        )
        if not routine or self.parens:
            return
        if word == "begin" or (word == "case" and self.begin):
            self.begin += 1
        elif word == "end" and self.begin:
            self.begin -= 1

    def _string(self, line: str, pos: int) -> int:
        match = _END[self.state].search(line, pos)
        if match is None:
            return len(line)
        at = match.start()
        if line[at] == "\\":
            return at + 2
        closing = '"' if self.state == "dq" else "'"
        if line.startswith(closing * 2, at):
            return at + 2
        if self.state != "dq":
            self.after, self.newline = self.state, False
        self.state = "top"
        return at + 1

    def _block(self, line: str, pos: int) -> int:
        match = _COMMENT.search(line, pos)
        if match is None:
            return len(line)
        self.depth += 1 if match.group() == "/*" else -1
        if not self.depth:
            self.state = "top"
        return match.end()


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class Vetted:
    """What the copy holds; ``unfinished`` names a truncation psql would not report."""

    lines: int
    unfinished: str | None


def vet(source: Path, target: BinaryIO) -> Vetted:
    """Copy ``source`` to ``target`` as psql may run it, or raise RestoregateError (exit 3)."""
    lexers = [_Lexer("sq"), _Lexer("eq")]
    number = 0
    with source.open("rb") as stream:
        lines = enumerate(stream, 1)
        for number, raw in lines:
            line = _decoded(raw, source, number)
            keep, copy = _vet_line(line, lexers, source, number)
            target.write(raw if keep else b"\n")
            if copy:
                number, ended = _copy_data(lines, target, source, number)
                if not ended:
                    return Vetted(number, "the script ends inside COPY data: the dump is truncated")
    if not all(lexer.at_start() for lexer in lexers):
        return Vetted(number, "the script ends inside a statement: the dump is truncated")
    return Vetted(number, None)


def _copy_data(
    lines: Iterator[tuple[int, bytes]], target: BinaryIO, source: Path, number: int
) -> tuple[int, bool]:
    """COPY data up to ``\\.``, raw (psql does not lex it); (last line, ``\\.`` seen)."""
    for number, raw in lines:
        target.write(raw)
        if b"\\" not in raw:
            continue
        if raw.rstrip(b"\r\n") == b"\\.":
            return number, True
        if b"\\" in _COPY_ESCAPES.sub(b"", raw):
            raise RestoregateError(
                f"{source}:{number}: COPY data with a backslash that is no COPY escape"
            )
    return number, False


def _vet_line(line: str, lexers: list[_Lexer], source: Path, number: int) -> tuple[bool, bool]:
    """(keep the line, COPY data follows)."""
    body = line.rstrip("\r\n")
    starts = all(lexer.at_start() for lexer in lexers)
    if starts and _RESTRICT.fullmatch(body):
        return False, False
    if _ENCODING.search(body) and not (starts and body == _HEADER_ENCODING):
        raise RestoregateError(f"{source}:{number}: refusing to restore: a client_encoding change")
    try:
        ended = [lexer.scan(line) for lexer in lexers]
    except _Refused as refused:
        raise RestoregateError(f"{source}:{number}: refusing to restore: {refused}") from None
    whole = starts and ended == [1, 1] and all(lexer.at_start() for lexer in lexers)
    if whole and _DROPPED.fullmatch(body):
        return False, False
    return True, whole and bool(_COPY.fullmatch(body))


def _decoded(raw: bytes, source: Path, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RestoregateError(f"{source}:{number}: not UTF-8 text") from None
