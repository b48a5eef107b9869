"""``--format json``: the contract's report, one document, nothing else on the stream."""

from __future__ import annotations

import json
from typing import TextIO

from restoregate.report import Report


def render(report: Report, stream: TextIO, *, color: bool = False) -> None:
    json.dump(report.to_dict(), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
