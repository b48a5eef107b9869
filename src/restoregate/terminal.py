"""One decision about colour and live output, taken the same way by every command.

The conventions, strongest first: ``--color always|never``; ``NO_COLOR`` (set and not
empty: no colour, https://no-color.org); ``FORCE_COLOR`` (set and not empty: colour even
when piped, https://force-color.org); ``TERM=dumb`` (no colour, no live lines); else
colour exactly when the stream is a terminal. rich's own reading of the environment is
overridden, so the decision is taken here and only here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from rich.console import Console

ColorMode = Literal["auto", "always", "never"]
COLOR_MODES: tuple[ColorMode, ...] = ("auto", "always", "never")


def wants_color(
    stream: TextIO, mode: str = "auto", environ: Mapping[str, str] | None = None
) -> bool:
    """Whether output to ``stream`` may carry colour and styles."""
    env = os.environ if environ is None else environ
    if mode == "always":
        return True
    if mode == "never" or env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return is_live(stream, env)


def is_live(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """A terminal that can redraw a line: progress and spinners are shown only there."""
    env = os.environ if environ is None else environ
    if env.get("TERM", "").lower() == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def console(stream: TextIO, mode: str = "auto", *, width: int | None = None) -> Console:
    """A rich Console that obeys the decision above instead of guessing on its own."""
    from rich.console import Console

    color = wants_color(stream, mode)
    return Console(
        file=stream,
        force_terminal=color or is_live(stream),
        force_interactive=is_live(stream),
        no_color=not color,
        color_system=_color_system() if color else None,
        width=width,
        highlight=False,
    )


def _color_system() -> Literal["standard", "256", "truecolor"]:
    """What the terminal says it can show; plain 16 colours when it says nothing."""
    if os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    return "256" if "256color" in os.environ.get("TERM", "") else "standard"
