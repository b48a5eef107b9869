"""Fixtures: one real PostgreSQL per session, one fresh database per test. No mocks.

The server is ``RESTOREGATE_TEST_DSN``, else a Docker container, else an embedded
PostgreSQL 18 (details in ``tests/pgtest.py``). What the tests get:

- ``pg_server``: ``admin_dsn``, ``major_version``, ``kind``, ``dsn_for(dbname)``,
  ``tool(name)``, ``run_tool(name, args)`` (the version-matched client tools)
- ``db``: a fresh database (``name``, ``dsn``, ``execute(script)``, ``scalar(query)``,
  ``connect()``), dropped ``WITH (FORCE)`` afterwards; ``new_db()`` makes more
- ``dump(db, path, *pg_dump_args)``: fails the test if pg_dump fails
- ``restore(path, db, *pg_restore_args)``: returns the result, exit 1 included
- ``make_role(db, name, *statements) -> dsn``: a LOGIN role, dropped afterwards
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from restoregate.report import Report
from tests.pgtest import Database, PgServer, choose_kind, describe_choice, start_server
from tests.report_schema import validate_report

_DESCRIPTION = pytest.StashKey[str]()


@pytest.fixture(autouse=True)
def _json_reports_match_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every report a test turns into JSON is validated against docs/report.schema.json."""
    to_dict = Report.to_dict
    monkeypatch.setattr(Report, "to_dict", lambda self: validate_report(to_dict(self)))


def pytest_report_header() -> str:
    return f"restoregate test server: {describe_choice()}"


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    description = config.stash.get(_DESCRIPTION, None)
    if description:
        terminalreporter.write_line(f"restoregate tests ran on {description}")


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[PgServer]:
    server = start_server(choose_kind())
    request.config.stash[_DESCRIPTION] = server.describe()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def new_db(pg_server: PgServer) -> Iterator[Callable[[], Database]]:
    """``new_db()`` -> another fresh database; all are dropped after the test."""
    made: list[Database] = []

    def make() -> Database:
        made.append(pg_server.create_database())
        return made[-1]

    yield make
    for database in reversed(made):
        pg_server.drop_database(database.name)


@pytest.fixture
def db(new_db: Callable[[], Database]) -> Database:
    return new_db()


@pytest.fixture
def dump(pg_server: PgServer) -> Callable[..., CompletedProcess[str]]:
    """``dump(db, path, "-Fc")``: pg_dump of the server's version; a failure fails the test."""

    def run(database: Database, path: Path, *args: str) -> CompletedProcess[str]:
        result = pg_server.dump(database.name, path, *args)
        if result.returncode != 0:
            pytest.fail(f"pg_dump {' '.join(args)} failed:\n{result.stderr}", pytrace=False)
        return result

    return run


@pytest.fixture
def restore(pg_server: PgServer) -> Callable[..., CompletedProcess[str]]:
    """``restore(path, db, "-a")``: pg_restore's result, for the test to judge (exit 1 is
    "errors ignored on restore", which is often the scenario under test)."""

    def run(path: Path, database: Database, *args: str) -> CompletedProcess[str]:
        return pg_server.restore(path, database.name, *args)

    return run


@pytest.fixture
def make_role(pg_server: PgServer, new_db: object) -> Iterator[Callable[..., str]]:
    """``make_role(db, "reader", "GRANT pg_read_all_data TO {role}")`` -> a DSN as that role.

    The role gets a unique suffix (roles are cluster-wide); each statement runs in
    ``db`` as the admin with ``{role}`` replaced by the quoted name. Depends on
    ``new_db`` so roles are dropped before the databases they hold privileges in.
    """
    made: list[tuple[Database, str]] = []

    def make(database: Database, name: str, *statements: str) -> str:
        role = f"{name}_{uuid.uuid4().hex[:6]}"
        made.append((database, role))
        return pg_server.create_role(database, role, statements)

    yield make
    for database, role in reversed(made):
        pg_server.drop_role(database, role)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A test directory every account may enter (pytest's own is 0700 under root).

    Run as root, the embedded server runs as another account, and restoregate changes
    no mode outside its own directory, so a ``base_dir``/``TMPDIR`` must be reachable.
    """
    path = Path(tempfile.mkdtemp(prefix="rg-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
