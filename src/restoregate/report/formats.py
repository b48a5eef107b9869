"""Renderers see only a ``Report``: ``render(report, stream)``."""

from __future__ import annotations

from typing import TextIO

from restoregate.report import Report, json_report, junit, markdown, prometheus, text

FORMATS = {
    "text": text.render,
    "json": json_report.render,
    "junit": junit.render,
    "markdown": markdown.render,
    "prometheus": prometheus.render,
}


def render(report: Report, fmt: str, stream: TextIO, *, color: bool = False) -> None:
    if fmt == "text":
        text.render(report, stream, color=color)
    else:
        FORMATS[fmt](report, stream)
