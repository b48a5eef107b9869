"""The SQL dialect rules are read in, and the engine's own vetting of their text.

Set by the API while it reads rules for a DSN; read by ``dialects`` when a rule has
SQL. Apart from it so that rules without SQL load no parser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# the dialect rules are read in: postgres, or the engine's the DSN names (set by the API)
RULES_DIALECT: ContextVar[str] = ContextVar("rules_dialect", default="postgres")
# the engine's own offline vetting of a rule's text, vet(key, text), raising ValueError
# (MySQL: the text the server will run, generated from the tree, calls only built-ins)
Vet = Callable[[str, str], None]
RULES_VET: ContextVar[Vet | None] = ContextVar("rules_vet", default=None)


@contextmanager
def rules_dialect(dialect: str, vet: Vet | None = None) -> Iterator[None]:
    token, vet_token = RULES_DIALECT.set(dialect), RULES_VET.set(vet)
    try:
        yield
    finally:
        RULES_VET.reset(vet_token)
        RULES_DIALECT.reset(token)
