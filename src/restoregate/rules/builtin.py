"""The rules files shipped in the wheel, by name: ``default`` and the examples.

``restoregate rules show NAME`` prints them, ``check`` runs ``default`` when no
``--rules`` is given, and ``init`` starts from ``default``'s rules: one source.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

from restoregate.errors import UsageError

DEFAULT = "default"


def _folder() -> Traversable:
    return resources.files("restoregate.data").joinpath("rules")


def names() -> list[str]:
    """``default`` first, then the examples in alphabetical order."""
    examples = _folder().joinpath("examples").iterdir()
    found = sorted(p.name.removesuffix(".yaml") for p in examples if p.name.endswith(".yaml"))
    return [DEFAULT, *found]


def text(name: str = DEFAULT) -> str:
    """The file's text, comments and all; UsageError naming the choices when unknown."""
    if name not in names():
        raise UsageError(f"no built-in rules named {name!r}", f"built-in: {', '.join(names())}")
    relative = "default.yaml" if name == DEFAULT else f"examples/{name}.yaml"
    return _folder().joinpath(relative).read_text(encoding="utf-8")


def rules_section(name: str = DEFAULT) -> str:
    """The file from its top-level ``rules:`` line on, to reuse verbatim in another file."""
    source = text(name)
    start = source.find("\nrules:")
    if start < 0:
        raise ValueError(f"built-in rules {name!r} have no rules: section")
    return source[start + 1 :]
