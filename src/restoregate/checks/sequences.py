from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class Sequences:
    name: ClassVar[str] = "sequences"

    @dataclass(frozen=True)
    class Params:
        pass
