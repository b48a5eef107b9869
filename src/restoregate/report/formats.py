"""Renderers see only a ``Report``: ``render(report, stream)``."""

from __future__ import annotations

import importlib
from typing import TextIO

from restoregate.report import Report

# each renderer is imported when asked for: the text and markdown ones load rich (0.02 s)
FORMATS = {
    "text": "text",
    "json": "json_report",
    "junit": "junit",
    "markdown": "markdown",
    "prometheus": "prometheus",
}


def render(report: Report, fmt: str, stream: TextIO, *, color: bool = False) -> None:
    module = importlib.import_module(f"restoregate.report.{FORMATS[fmt]}")
    if fmt == "text":
        module.render(report, stream, color=color)
    else:
        module.render(report, stream)
