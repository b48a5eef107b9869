"""Reading YAML as positioned nodes, so every rules error can say FILE:LINE:COL.

Only plain data is accepted: mappings with string keys, sequences, and the core
scalar types. Tags, anchors and aliases are refused (an alias bomb is refused before
anything is expanded), as are duplicate keys that PyYAML would silently merge.
"""

from __future__ import annotations

import os
import re
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from restoregate.errors import RulesError

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_VARIABLE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Doc:
    """One rules file being read: its path, for errors, and its root node."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.root = self._compose(text)
        self._seen: set[int] = set()
        self._check(self.root)

    def fail(self, node: Node | None, message: str, hint: str | None = None) -> NoReturn:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        raise RulesError(self.path, line, col, one_line(message), hint)

    def _compose(self, text: str) -> Node:
        try:
            documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = exc.problem or exc.context or "invalid YAML"
            raise RulesError(self.path, line, col, f"invalid YAML: {one_line(problem)}") from None
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, exc.position) + 1
            col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
            message = f"invalid YAML: character {exc.character!r} is not allowed"
            raise RulesError(self.path, line, col, message) from None
        except yaml.YAMLError as exc:
            raise RulesError(self.path, 1, 1, f"invalid YAML: {one_line(str(exc))}") from None
        documents = [d for d in documents if d is not None]
        if not documents:
            raise RulesError(self.path, 1, 1, "the rules file is empty", "start with `version: 1`")
        if len(documents) > 1:
            self.fail(documents[1], "a rules file holds one YAML document, found several")
        return documents[0]

    def _check(self, node: Node) -> None:
        """Refuse aliases, tags and duplicate keys anywhere in the tree, visiting each node once."""
        stack = [node]
        while stack:
            current = stack.pop()
            if id(current) in self._seen:
                self.fail(current, "YAML anchors and aliases are not supported in rules files")
            self._seen.add(id(current))
            allowed = _SCALAR_TAGS if isinstance(current, ScalarNode) else _COLLECTION_TAGS
            if current.tag not in allowed:
                self.fail(current, f"unsupported YAML tag {current.tag!r}")
            if isinstance(current, MappingNode):
                self._check_keys(current)
                stack.extend(v for pair in current.value for v in pair)
            elif isinstance(current, SequenceNode):
                stack.extend(current.value)

    def _check_keys(self, node: MappingNode) -> None:
        seen: dict[str, Node] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                self.fail(key, "keys must be plain names")
            if key.value in seen:
                first = seen[key.value].start_mark.line + 1
                self.fail(key, f"duplicate key {key.value!r} (first on line {first})")
            seen[key.value] = key

    # --- typed access -----------------------------------------------------------------

    def mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]]:
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping, found {kind(node)}")
        return [(k.value, k, v) for k, v in node.value]

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list, found {kind(node)}")
        return list(node.value)

    def scalar(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            self.fail(node, f"expected a single value, found {kind(node)}")
        value = SafeConstructor().construct_object(node)
        return self._substitute(node, value) if isinstance(value, str) else value

    def string(self, node: Node, what: str) -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, f"{what} must be a non-empty string, found {describe(value)}")
        return value

    def _substitute(self, node: Node, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if not _NAME.match(name):
                self.fail(node, f"${{{name}}} is not a valid environment variable reference")
            if name not in os.environ:
                self.fail(node, f"environment variable {name} is not set", f"export {name}=...")
            return os.environ[name]

        return _VARIABLE.sub(replace, text)


def one_line(text: str) -> str:
    return " ".join(text.split())


def kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the value {node.value!r}" if isinstance(node, ScalarNode) else "something else"


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def position(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
