from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class References:
    name: ClassVar[str] = "references"

    @dataclass(frozen=True)
    class Params:
        pass
