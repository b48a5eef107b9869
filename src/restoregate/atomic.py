"""Report files replaced atomically: readers (node_exporter, a CI step) never see half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from restoregate.errors import UsageError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str, write: Callable[[TextIO], None]) -> None:
    """Readers (node_exporter, a CI step) see the old file or the new one, never half."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write the report: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            write(stream)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write the report: {exc.strerror}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
