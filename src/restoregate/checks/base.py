"""What every check type is: a name, a frozen ``Params`` dataclass, and ``run``.

A check's ``Params`` fields are the rule's own YAML keys (besides ``id``, ``check``,
``severity``, ``description``). Supported field types: ``str``, ``int``, ``float``,
``bool``, ``tuple[str, ...]``, and ``X | None``; a field with a default is optional.
``__post_init__`` may raise ``ValueError("message")`` for anything the types cannot say;
the loader reports it at the rule's position.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from restoregate.context import CheckContext, Outcome


class Check(Protocol):
    name: ClassVar[str]

    def run(self, ctx: CheckContext, params: Any) -> Outcome: ...


def params_class(check: type[Check]) -> type[Any]:
    """The check's nested ``Params`` dataclass (a Protocol cannot declare a nested class)."""
    params: type[Any] = getattr(check, "Params")  # noqa: B009
    return params
