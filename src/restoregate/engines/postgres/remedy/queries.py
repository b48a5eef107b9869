"""The SQL of fix and fence, in ``.sql`` files beside this module, loaded by name."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import LiteralString


@cache
def load(name: str) -> LiteralString:
    """The text of ``NAME.sql``; a trusted file shipped with the package, never user text."""
    text = resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    return text  # a trusted file: LiteralString in spirit
