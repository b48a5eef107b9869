"""Files restoregate writes (reports, rules, manifests): checked first, replaced atomically.

One policy for every command that writes a file (``check``/``verify-dump --output``,
``init -o``, ``snapshot -o``): the place is validated before any database work (its
directory exists and takes a new file; an existing file is replaced only with
``--force``; a directory or device is never a target), and the content is written to a
temporary file in the same directory, flushed to disk and renamed over the target, so a
reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from restoregate.errors import RestoregateError, UsageError


@dataclass(frozen=True)
class OutputFile:
    path: Path  # where the content goes, symlinks resolved
    given: str  # as the user wrote it, for messages
    option: str  # "--output" or "-o", for messages


def prepare(given: str, *, force: bool, option: str = "--output") -> OutputFile:
    """Refuse a target that cannot or may not be written, before any work is done."""
    target = Path(os.path.realpath(given))
    where = f"{option} {given}"
    if target.is_dir():
        raise UsageError(f"{where} is a directory; give a file name")
    if target.exists() or target.is_symlink():
        if not stat.S_ISREG(target.stat().st_mode):
            raise UsageError(f"{where} is not a regular file; give a file name")
        if not force:
            raise UsageError(f"{where} exists", "pass --force to replace it")
    directory = target.parent
    if not directory.is_dir():
        raise UsageError(f"{where}: directory {directory} does not exist")
    try:  # os.access cannot see read-only mounts or ACLs; a real file can
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{where}: cannot create a file in {directory}: {exc.strerror}") from None
    return OutputFile(target, given, option)


def write(out: OutputFile, text: str) -> None:
    """Replace ``out`` with ``text`` atomically (temp file in the same directory + rename)."""
    directory = out.path.parent
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{out.path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RestoregateError(f"{out.option} {out.given}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _mode(out.path))
        os.replace(temp, out.path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise RestoregateError(f"{out.option} {out.given}: cannot write: {exc.strerror}") from None


def _mode(path: Path) -> int:
    """The replaced file's permissions, or what a plain ``open()`` would have given."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
