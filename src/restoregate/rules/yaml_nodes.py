"""Reading YAML as positioned nodes, so every rules error can say FILE:LINE:COL.

Only plain data is accepted: one document of mappings with text keys, lists, and the
core scalar types. Aliases are refused where they appear, before anything is expanded
(a billion-laughs document costs nothing), nesting is bounded, other tags are refused,
and duplicate keys, which PyYAML would silently merge, are errors. Text values may use
``${NAME}`` for an environment variable; ``$${`` stands for a literal ``${``.
"""

from __future__ import annotations

import datetime
import os
import re
import typing
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.events import AliasEvent, Event, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from restoregate.errors import RulesError

MAX_DEPTH = 50
MAX_EXPANSION = 1 << 20  # characters all ${NAME} values may add to one file, at most
MIN_EXPANSION = 64 << 10  # ... and at least, however small the file (else 16x the file)
MIN_SECRET = 3  # shorter values are not worth hiding and would garble every message
_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS = {f"{_CORE}map", f"{_CORE}seq"}
_STR, _NULL = f"{_CORE}str", f"{_CORE}null"
_VARIABLE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")
_KINDS = {f"{_CORE}int": "whole number", f"{_CORE}float": "number", f"{_CORE}bool": "boolean"}
_KINDS[f"{_CORE}timestamp"] = "date"
_SHOWN = 60  # characters of a user's value quoted in a message
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # as YAML counts lines
_RESOLVER = yaml.resolver.Resolver()


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer, refusing aliases on sight and nesting beyond MAX_DEPTH."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text)
        self.path = path
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = _peek(self)
        if isinstance(event, AliasEvent):
            raise _error(
                self.path,
                _mark(event),
                "YAML aliases (*name) are not supported in rules files",
                "write the value out in full where the alias stands",
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _error(self.path, _mark(event), f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class Doc:
    """One rules file being read: its path and text, for errors, and its root node."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.source = text
        # ${NAME} expansion is bounded so a small file cannot become a huge one
        self.expansion_limit = min(MAX_EXPANSION, max(MIN_EXPANSION, 16 * len(text)))
        self._expanded = 0
        self._substituted: dict[int, str] = {}  # node id -> its text after substitution
        self._secrets: dict[str, str] = {}  # a variable's value -> "${NAME}", for messages
        self.root = self._compose()
        self._validate(self.root)

    # --- errors ---------------------------------------------------------------------

    def fail(self, node: Node, message: str, hint: str | None = None) -> NoReturn:
        raise _error(self.path, node.start_mark, self.redact(message), self._redact(hint))

    def fail_at(self, node: Node, offset: int, message: str, hint: str | None = None) -> NoReturn:
        """Point at character ``offset`` of a scalar's value when the file shows it verbatim."""
        line, col = position(node)
        col += self._shift(node, offset)
        raise RulesError(self.path, line, col, one_line(self.redact(message)), self._redact(hint))

    @property
    def redactions(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._secrets.items(), key=lambda item: -len(item[0])))

    def redact(self, message: str) -> str:
        """A message with every substituted variable's value shown as ``${NAME}`` again."""
        for value in sorted(self._secrets, key=len, reverse=True):
            message = message.replace(value, self._secrets[value])
        return message

    def _redact(self, hint: str | None) -> str | None:
        return self.redact(hint) if hint is not None else None

    def _shift(self, node: Node, offset: int) -> int:
        if not isinstance(node, ScalarNode) or node.start_mark.line != node.end_mark.line:
            return 0
        raw = self.source[node.start_mark.index : node.end_mark.index]
        quote = 1 if node.style in ("'", '"') else 0
        shown = raw[quote : len(raw) - quote]
        return offset + quote if shown == node.value else 0

    # --- reading --------------------------------------------------------------------

    def _compose(self) -> Node:
        try:
            loader = _Loader(self.source, self.path)
        except yaml.reader.ReaderError as exc:
            raise self._unreadable(exc) from None
        try:
            return self._single_document(loader)
        except yaml.MarkedYAMLError as exc:
            raise self._invalid(exc) from None
        except yaml.reader.ReaderError as exc:
            raise self._unreadable(exc) from None
        except yaml.YAMLError as exc:
            raise RulesError(self.path, 1, 1, f"invalid YAML: {one_line(str(exc))}") from None
        finally:
            loader.dispose()

    def _single_document(self, loader: _Loader) -> Node:
        loader.get_event()  # type: ignore[no-untyped-call]  # the stream's start
        root = None if loader.check_event(StreamEndEvent) else loader.compose_document()
        if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
            raise RulesError(self.path, 1, 1, "the rules file is empty", "start with `version: 1`")
        if not loader.check_event(StreamEndEvent):
            raise _error(
                self.path,
                _mark(_peek(loader)),
                "a second YAML document: a rules file holds exactly one",
                "remove this '---' and what follows, or move it to its own file",
            )
        return root

    def _invalid(self, exc: yaml.MarkedYAMLError) -> RulesError:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}"
        if exc.problem and exc.context and exc.context_mark:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        return RulesError(self.path, line, col, one_line(message))

    def _unreadable(self, exc: yaml.reader.ReaderError) -> RulesError:
        line, col = _line_col(self.source, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return RulesError(
            self.path,
            line,
            col,
            f"character {char!r} is not allowed in a YAML file",
            "is this really a rules file? it must be UTF-8 text",
        )

    def _validate(self, root: Node) -> None:
        """Refuse unsupported tags, non-text keys and duplicate keys anywhere in the tree."""
        stack = [root]
        while stack:
            node = stack.pop()
            allowed = _SCALAR_TAGS if isinstance(node, ScalarNode) else _COLLECTION_TAGS
            if node.tag not in allowed:
                self.fail(
                    node,
                    f"unsupported YAML tag {show(node.tag.replace(_CORE, '!!'))}",
                    "rules files hold plain values only: remove the tag",
                )
            if isinstance(node, MappingNode):
                self._validate_keys(node)
                stack.extend(v for pair in node.value for v in pair)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)

    def _validate_keys(self, node: MappingNode) -> None:
        seen: dict[str, Node] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                self.fail(key, f"a key must be a name, found {kind_of(key)}")
            if key.tag != _STR:
                self.fail(key, f"a key must be a name, found {show(key.value)}", "quote it")
            if key.value in seen:
                first = seen[key.value].start_mark.line + 1
                self.fail(key, f"duplicate key {show(key.value)} (first on line {first})")
            seen[key.value] = key

    # --- typed access ---------------------------------------------------------------

    def mapping(self, node: Node, where: str, wanted: str) -> list[tuple[str, Node, Node]]:
        if not isinstance(node, MappingNode):
            self.fail(node, f"{where}: expected {wanted}, found {self.found(node)}")
        return [(k.value, k, v) for k, v in node.value]

    def sequence(self, node: Node, where: str, wanted: str, hint: str | None = None) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{where}: expected {wanted}, found {self.found(node)}", hint)
        return list(node.value)

    def scalar(self, node: Node, where: str) -> Any:
        """The value as YAML reads it (text with ``${NAME}`` substituted)."""
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{where}: expected a single value, found {kind_of(node)}")
        value = self._construct(node)
        return self._substitute(node) if isinstance(value, str) else value

    def text(self, node: Node, where: str, wanted: str = "a text") -> str:
        """Non-empty text; an unquoted number, boolean or date counts as the text it shows."""
        value: Any
        if isinstance(node, ScalarNode) and node.tag not in (_STR, _NULL) and _implicit(node):
            value = node.value  # taken as written: no YAML number, boolean or date parsing
        else:
            value = self.scalar(node, where)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, f"{where}: expected {wanted}, found {describe(value)}")
        return value

    def found(self, node: Node) -> str:
        """What a value is, for "expected X, found Y" (as written: no substitution)."""
        return describe(self._construct(node)) if isinstance(node, ScalarNode) else kind_of(node)

    def _construct(self, node: ScalarNode) -> Any:
        try:
            return SafeConstructor().construct_object(node)
        except (ValueError, KeyError, TypeError, ArithmeticError, yaml.YAMLError):
            kind = _KINDS.get(node.tag, "value")
            self.fail(node, f"{show(node.value)} is not a valid {kind}", "quote it if it is text")

    def _substitute(self, node: ScalarNode) -> str:
        if id(node) not in self._substituted:
            self._substituted[id(node)] = self._expand(node)
        return self._substituted[id(node)]

    def _expand(self, node: ScalarNode) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if match.group(0) == "$${":
                return "${"
            if name is None:
                self.fail_at(
                    node,
                    match.start(),
                    "'${' must start an environment variable written ${NAME}",
                    "write $${ for a literal ${",
                )
            if name not in os.environ:
                self.fail_at(
                    node,
                    match.start(),
                    f"environment variable {cut(name)} is not set",
                    f"export {cut(name)}=... first, or write $${{ for a literal ${{",
                )
            value = os.environ[name]
            self._expanded += len(value)
            if self._expanded > self.expansion_limit:
                self.fail_at(
                    node,
                    match.start(),
                    f"${{{cut(name)}}}: environment variables expand the rules file to more "
                    f"than {self.expansion_limit:,} characters",
                    "a rules file's variables hold names and short values, not documents",
                )
            if len(value) >= MIN_SECRET:
                self._secrets[value] = f"${{{name}}}"
            return value

        return _VARIABLE.sub(replace, node.value)


def _peek(loader: yaml.SafeLoader) -> Event:
    event: Event = loader.peek_event()  # type: ignore[no-untyped-call]
    return event


def _mark(event: Event) -> Mark:
    return typing.cast(Mark, event.start_mark)


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based, counting line breaks as YAML (and so every other mark) does."""
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, match.end()
    return line, index - start + 1


def _implicit(node: ScalarNode) -> bool:
    """Whether YAML guessed the node's type from its plain text (no explicit ``!!tag``)."""
    if node.style is not None:
        return False
    implicit = (True, False)  # PyYAML's flags: (plain, quoted)
    guessed: str = _RESOLVER.resolve(ScalarNode, node.value, implicit)  # type: ignore[no-untyped-call]
    return guessed == node.tag


def _error(path: str, mark: Mark, message: str, hint: str | None = None) -> RulesError:
    return RulesError(path, mark.line + 1, mark.column + 1, one_line(message), hint)


def one_line(text: str) -> str:
    return " ".join(text.split())


def cut(text: str) -> str:
    """A user's text cut short, so that a message stays one readable line."""
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def show(text: str) -> str:
    """A user's text quoted for a message."""
    return repr(cut(text))


def kind_of(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    return "a list" if isinstance(node, SequenceNode) else "a single value"


def describe(value: Any) -> str:
    """A YAML value as a DBA would name it: "the number 5", "the text 'x'", "nothing"."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {cut(str(value))}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the text {show(value)}" if value.strip() else "an empty text"
    return f"a {type(value).__name__}"


def position(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
