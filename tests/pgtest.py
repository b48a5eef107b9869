"""Test servers: a given URL, a Docker container, or an embedded PostgreSQL 18.

Every kind offers the same small surface to tests: a DSN per database, the server's
major version, and pg_dump/pg_restore of a matching version (a newer pg_restore
writes SQL an older server rejects, so tools follow the server).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from restoregate.embedded import EphemeralServer, find_tool

DUMP_TIMEOUT = 300


class TestServer:
    """What every kind of server offers the tests."""

    admin_dsn: str
    major_version: int
    kind: str

    def dsn_for(self, dbname: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname)

    def run_tool(self, name: str, args: list[str]) -> subprocess.CompletedProcess[str]:
        command = [str(find_tool(name, self.major_version)), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=DUMP_TIMEOUT)

    def dump(self, dbname: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_tool("pg_dump", [*args, "-f", str(path), self.dsn_for(dbname)])

    def restore(self, path: Path, dbname: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_tool("pg_restore", [*args, "-d", self.dsn_for(dbname), str(path)])

    def close(self) -> None:
        pass


class ExternalServer(TestServer):
    kind = "dsn"

    def __init__(self, dsn: str) -> None:
        self.admin_dsn = dsn
        self.major_version = server_major(dsn)


class EmbeddedServer(TestServer):
    kind = "embedded"

    def __init__(self) -> None:
        self._server = EphemeralServer().start()
        self.admin_dsn = self._server.dsn()
        self.major_version = server_major(self.admin_dsn)

    def close(self) -> None:
        self._server.stop()


class DockerServer(TestServer):
    """testcontainers' PostgreSQL; the client tools run inside the container."""

    kind = "docker"

    def __init__(self, image: str) -> None:
        from testcontainers.postgres import PostgresContainer

        self._container = PostgresContainer(image, driver=None).start()
        self.admin_dsn = self._container.get_connection_url()
        self.major_version = server_major(self.admin_dsn)
        self._id = self._container.get_wrapped_container().id

    def _inside(self, dbname: str) -> str:
        params = conninfo_to_dict(self.admin_dsn)
        return f"postgresql://{params['user']}:{params['password']}@localhost:5432/{dbname}"

    def dump(self, dbname: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        inner = f"/tmp/{uuid.uuid4().hex}"
        done = _docker("exec", self._id, "pg_dump", *args, "-f", inner, self._inside(dbname))
        if done.returncode == 0:
            _docker("cp", f"{self._id}:{inner}", str(path))
        return done

    def restore(self, path: Path, dbname: str, *args: str) -> subprocess.CompletedProcess[str]:
        inner = f"/tmp/{uuid.uuid4().hex}"
        _docker("cp", str(path), f"{self._id}:{inner}")
        return _docker("exec", self._id, "pg_restore", *args, "-d", self._inside(dbname), inner)

    def close(self) -> None:
        self._container.stop()


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=DUMP_TIMEOUT)


def server_major(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def docker_available() -> bool:
    """A Docker engine answers within two seconds (the client alone is not enough)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        return False  # no engine socket: skip the client, which leaks a socket on failure
    try:
        import docker

        client = docker.from_env(timeout=2)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def start_server() -> TestServer:
    dsn = os.environ.get("RESTOREGATE_TEST_DSN")
    if dsn:
        return ExternalServer(dsn)
    if docker_available():
        return DockerServer(os.environ.get("RESTOREGATE_TEST_PG_IMAGE", "postgres:18"))
    return EmbeddedServer()


@dataclass
class Database:
    """One fresh database for one test."""

    name: str
    dsn: str

    def execute(self, script: str) -> None:
        """Run setup SQL (several statements allowed) outside any transaction."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(script.encode())

    def scalar(self, query: str) -> Any:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(query.encode()).fetchone()
        return row[0] if row else None


def create_database(server: TestServer) -> Database:
    name = f"rg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return Database(name, server.dsn_for(name))


def drop_database(server: TestServer, name: str) -> None:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_role(server: TestServer, db: Database, name: str, grants: tuple[str, ...]) -> str:
    """A LOGIN role with only the given grants (``{role}`` in each is replaced)."""
    role = sql.Identifier(name)
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'rg-test'").format(role))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        for grant in grants:
            conn.execute(sql.SQL(grant).format(role=role))  # type: ignore[arg-type]
    return make_conninfo(db.dsn, user=name, password="rg-test")


def drop_role(server: TestServer, db: Database, name: str) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
