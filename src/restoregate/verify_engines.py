"""``verify-dump`` for the other engines: SQLite files and ``.dump`` scripts, MySQL dumps.

An SQLite database file is judged as it is (read-only, never changed). A ``.dump``
script is loaded into a temporary file first. A mysqldump/mariadb-dump file needs a
scratch server (``--scratch-dsn mysql://USER:PASS@HOST:PORT/EMPTY_DB``): no embedded
MySQL exists. It is replayed into that empty database, which keeps the restore
afterwards. Every statement that fails is a ``restore_errors`` violation, as for
PostgreSQL archives.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from restoregate.engines.mysql import restore as mysql_restore
from restoregate.engines.sqlite import restore as sqlite_restore
from restoregate.errors import UsageError
from restoregate.report import Report, RuleResult
from restoregate.verify import RestoreError, restore_rule

Kind = Literal["sqlite-file", "sqlite-script", "mysql"]
_MYSQL_HEADS = ("-- MySQL dump", "-- MariaDB dump", "/*M!999999")


def kind(path: Path) -> Kind | None:
    """Which other engine's dump ``path`` is, or None (a PostgreSQL archive, or unknown)."""
    if not path.is_file():
        return None
    if sqlite_restore.is_database(path):
        return "sqlite-file"
    with path.open("rb") as stream:
        head = stream.read(4096)
    text = head.decode("utf-8", errors="replace").lstrip()
    if text.startswith(_MYSQL_HEADS):
        return "mysql"
    if sqlite_restore.is_script(head):
        return "sqlite-script"
    return None


def verify(
    path: Path,
    found: Kind,
    judge: Callable[[str], Report],
    *,
    scratch_dsn: str | None,
    keep: bool,
    phase: Callable[[str], None],
) -> tuple[Report, str | None]:
    if found == "sqlite-file":
        phase(f"opening {path.name} read-only")
        report = judge(f"sqlite:///{path.resolve()}")
        report.rules.insert(0, _as_is())
        return report, None
    if found == "mysql":
        return _mysql(path, judge, scratch_dsn, phase)
    return _sqlite_script(path, judge, keep, phase)


def _as_is() -> RuleResult:
    return RuleResult(
        "restore_errors",
        "restore_errors",
        "error",
        "pass",
        "an SQLite database file: judged as it is, nothing to restore",
    )


def _errors(pairs: list[tuple[str, str]]) -> list[RestoreError]:
    return [RestoreError(message, statement) for message, statement in pairs]


def _sqlite_script(
    path: Path, judge: Callable[[str], Report], keep: bool, phase: Callable[[str], None]
) -> tuple[Report, str | None]:
    directory = Path(tempfile.mkdtemp(prefix="restoregate-sqlite-"))
    try:
        target = directory / "restored.db"
        phase(f"loading {path.name} (an SQLite .dump script) into a temporary file")
        clock = time.perf_counter()
        restored = restore_rule(
            _errors(sqlite_restore.load(path, target)), time.perf_counter() - clock
        )
        phase("checking the restored database")
        report = judge(f"sqlite:///{target}")
        report.rules.insert(0, restored)
        kept = f"the restored database is kept: sqlite:///{target}" if keep else None
        return report, kept
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def _mysql(
    path: Path,
    judge: Callable[[str], Report],
    scratch_dsn: str | None,
    phase: Callable[[str], None],
) -> tuple[Report, str | None]:
    if scratch_dsn is None:
        raise UsageError(
            f"{path.name} is a MySQL/MariaDB dump: give a scratch server with --scratch-dsn",
            "--scratch-dsn mysql://USER:PASS@HOST:PORT/EMPTY_DB (no embedded MySQL exists)",
        )
    if not scratch_dsn.lower().startswith(("mysql://", "mariadb://")):
        raise UsageError("--scratch-dsn for a MySQL dump must be a mysql:// or mariadb:// DSN")
    phase(f"replaying {path.name} into the scratch database")
    clock = time.perf_counter()
    restored = restore_rule(
        _errors(mysql_restore.load(path, scratch_dsn)), time.perf_counter() - clock
    )
    phase("checking the restored database")
    report = judge(scratch_dsn)
    report.rules.insert(0, restored)
    return report, "the restore stays in the scratch database; empty it before the next run"
