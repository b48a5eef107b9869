"""What every check type is: a name, a frozen ``Params`` dataclass, and ``run``.

A check's ``Params`` fields are the rule's own YAML keys (besides ``id``, ``check``,
``severity``, ``description``); ``rule_params`` converts them by annotation: ``str``,
``int``, ``float``, ``bool``, ``tuple[X, ...]``, ``dict[str, Any]``, ``Any``,
``TableFilter`` and ``X | None``. A field with a default is optional; ``init=False``
fields are derived in ``__post_init__``, which may raise ``ValueError("key: message")``
for anything the types cannot say (reported at that key, else at the rule). An optional
static ``validate(params, catalog, rules)`` checks names against the catalog (exit 2).
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
