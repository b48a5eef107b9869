"""A real MySQL or MariaDB server for the engine's tests; skipped when none answers.

``RESTOREGATE_TEST_MYSQL`` is an admin URL (default ``mysql://root@127.0.0.1:3306/``: the
system MariaDB, root with an empty password over TCP). ``RESTOREGATE_TEST_MYSQL_IMAGE``
(``mysql:8.4``, ``mariadb:11.4``) starts that image through testcontainers instead, and
its own dump and client tools are used (``docker exec``); then a failure to start is an
error, never a skip. Every test gets a fresh database and a least-privilege account
(SELECT on that database only), both with random names, dropped afterwards: other
sessions use the same server at the same time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
import pytest
from pymysql.constants import CLIENT

ADMIN = os.environ.get("RESTOREGATE_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")
IMAGE = os.environ.get("RESTOREGATE_TEST_MYSQL_IMAGE")
_STARTED: dict[str, Any] = {}


@dataclass
class Admin:
    host: str
    port: int
    user: str
    password: str
    container: str | None = None  # a testcontainers container id: use its own tools

    def connect(self, database: str | None = None) -> Any:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            client_flag=CLIENT.MULTI_STATEMENTS,
            connect_timeout=3,
        )


def admin() -> Admin:
    if IMAGE:
        return _container()
    parts = urlsplit(ADMIN)
    return Admin(
        parts.hostname or "127.0.0.1",
        parts.port or 3306,
        unquote(parts.username or "root"),
        unquote(parts.password or ""),
    )


def _container() -> Admin:
    if "admin" not in _STARTED:
        import atexit

        from testcontainers.core.container import DockerContainer

        assert IMAGE is not None
        container = (
            DockerContainer(IMAGE)
            .with_env("MYSQL_ALLOW_EMPTY_PASSWORD", "yes")
            .with_env("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1")
            .with_exposed_ports(3306)
        )
        container.start()
        atexit.register(container.stop)
        server = Admin(
            container.get_container_host_ip(),
            int(container.get_exposed_port(3306)),
            "root",
            "",
            container.get_wrapped_container().id,
        )
        _wait(server)
        _STARTED["admin"] = server
    return _STARTED["admin"]  # type: ignore[no-any-return]


def _wait(server: Admin) -> None:
    import time

    deadline = time.monotonic() + 180
    while True:
        try:
            server.connect().close()
            return
        except pymysql.MySQLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def server_answers() -> bool:
    if IMAGE:
        return True  # the container is started by the first test; failing to is an error
    try:
        admin().connect().close()
    except pymysql.MySQLError:
        return False
    return True


@dataclass
class MyDatabase:
    name: str
    user: str
    password: str
    server: Admin

    @property
    def dsn(self) -> str:
        """The least-privilege account's DSN: SELECT on this database only."""
        return (
            f"mysql://{self.user}:{self.password}@{self.server.host}:{self.server.port}/{self.name}"
        )

    def execute(self, script: str) -> None:
        conn = self.server.connect(self.name)
        try:
            with conn.cursor() as cur:
                cur.execute(script)
                while cur.nextset():
                    pass
        finally:
            conn.close()

    def scalar(self, query: str) -> Any:
        conn = self.server.connect(self.name)
        try:
            with conn.cursor() as cur:
                cur.execute(query)
                row = cur.fetchone()
                return row[0] if row else None
        finally:
            conn.close()

    def fingerprint(self) -> list[tuple[Any, ...]]:
        """Every table's checksum and AUTO_INCREMENT counter: the state a check must not touch."""
        conn = self.server.connect(self.name)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT TABLE_NAME, AUTO_INCREMENT, TABLE_TYPE FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = %s ORDER BY 1",
                    (self.name,),
                )
                tables = list(cur.fetchall())
                found = []
                for name, counter, kind in tables:
                    quoted = "`" + name.replace("`", "``") + "`"
                    cur.execute(f"CHECKSUM TABLE {quoted} EXTENDED")
                    found.append((name, counter, kind, cur.fetchone()[1]))
                return found
        finally:
            conn.close()

    def dump(self, path: Path, *args: str, tables: Sequence[str] = ()) -> None:
        """mariadb-dump (or mysqldump) of this database: the way restores start."""
        command = [*self._tool("mariadb-dump", "mysqldump"), *args, self.name, *tables]
        with path.open("a") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True)
        assert result.returncode == 0, result.stderr

    def load(self, path: Path) -> None:
        """Replay a dump with the mysql client, as a restore does (FOREIGN_KEY_CHECKS=0 inside)."""
        with path.open() as source:
            result = subprocess.run(
                [*self._tool("mariadb", "mysql"), self.name],
                stdin=source,
                capture_output=True,
                text=True,
            )
        assert result.returncode == 0, result.stderr

    def _tool(self, *names: str) -> list[str]:
        """The client tool and its connection options: the container's own, or this host's."""
        server = self.server
        if server.container is not None:
            probe = "command -v " + " || command -v ".join(names)
            found = subprocess.run(
                ["docker", "exec", server.container, "sh", "-c", probe],
                capture_output=True,
                text=True,
            ).stdout.split()
            return ["docker", "exec", "-i", server.container, found[0], "--user=root"]
        tool = next((t for t in map(shutil.which, names) if t), None)
        if tool is None:
            pytest.skip(f"none of {', '.join(names)} on PATH")
        args = [tool, f"--host={server.host}", f"--port={server.port}", f"--user={server.user}"]
        if server.password:
            args.append(f"--password={server.password}")
        return args


def create(server: Admin) -> MyDatabase:
    suffix = uuid.uuid4().hex[:10]
    db = MyDatabase(f"rg_{suffix}", f"rg_{suffix}", f"pw-{uuid.uuid4().hex}", server)
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db.name}`")
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (db.user, db.password))
            cur.execute(f"GRANT SELECT, SHOW VIEW ON `{db.name}`.* TO %s@'%%'", (db.user,))
    finally:
        conn.close()
    return db


def drop(db: MyDatabase) -> None:
    conn = db.server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db.name}`")
            cur.execute("DROP USER IF EXISTS %s@'%%'", (db.user,))
    finally:
        conn.close()


def databases(server: Admin) -> Iterator[Any]:
    """A factory of fresh databases, dropped after the test."""
    made: list[MyDatabase] = []

    def make() -> MyDatabase:
        made.append(create(server))
        return made[-1]

    yield make
    for db in made:
        drop(db)


README = Path(__file__).resolve().parents[1] / "README.md"


def recipe() -> list[str]:
    """The GRANT statements of the README's MySQL least-privilege block, MariaDB's lines."""
    text = README.read_text()
    block = text[text.index("A least-privilege account:") :]
    block = block[block.index("```sql") + 6 : block.index("```", block.index("```sql") + 6)]
    lines = [line for line in block.splitlines() if not line.lstrip().startswith("--")]
    statements = [" ".join(s.split()) for s in " ".join(lines).split(";")]
    return [s for s in statements if s.startswith("GRANT")]
