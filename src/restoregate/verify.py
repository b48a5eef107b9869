"""``restoregate verify-dump``: restore a backup into a throwaway server and judge it.

The nightly CI job on backups, with no database server to provision: the archive is
restored into an embedded PostgreSQL (``--no-owner --no-privileges``: roles are not in
the archive), every restore error becomes a violation of the ``restore_errors`` rule,
then the rules run as ``check`` would, and the server is torn down.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from restoregate.engines.postgres.binaries import throwaway_server
from restoregate.engines.postgres.embedded import run_tool
from restoregate.errors import RestoregateError, UsageError
from restoregate.report import Report, RuleResult, Violation

Format = Literal["custom", "directory", "tar", "plain"]
DATABASE = "restored"
# pg_restore cannot read the file itself: that is "could not check" (exit 3), not a finding
_UNREADABLE = re.compile(
    r"could not read from input file|did not find magic string|unsupported version|"
    r"input file appears to be a text format dump|could not open input file|"
    r"unexpected end of file|file is too short|invalid archive|corrupt",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RestoreError(Violation):
    kind: ClassVar[str] = "restore_error"
    message: str
    statement: str | None

    def describe(self) -> str:
        return self.message + (f" (while running: {self.statement})" if self.statement else "")


def detect_format(path: Path) -> Format:
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if path.is_dir():
        if not (path / "toc.dat").exists():
            raise RestoregateError(f"{path}: a directory without toc.dat is not a pg_dump archive")
        return "directory"
    with path.open("rb") as stream:
        head = stream.read(4096)
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise RestoregateError(f"{path}: not a pg_dump archive or SQL script") from None
    if not head.strip():
        raise RestoregateError(f"{path}: the file is empty")
    return "plain"


def restore_errors(stderr: str) -> list[RestoreError]:
    """pg_restore's and psql's error lines, each with the command that failed."""
    found: list[RestoreError] = []
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        message = _error_text(line)
        if message is None:
            continue
        statement = None
        if i + 1 < len(lines) and lines[i + 1].startswith("Command was: "):
            statement = lines[i + 1].removeprefix("Command was: ")[:300]
        found.append(RestoreError(message, statement))
    return found


def _error_text(line: str) -> str | None:
    if "errors ignored on restore" in line:
        return None
    match = re.match(
        r"^(?:pg_restore: error: (?:could not execute query: )?|psql:\S+: )(.*)$", line
    )
    if match and ("ERROR" in match.group(1) or line.startswith("pg_restore: error")):
        return " ".join(match.group(1).replace("ERROR:", "").split())
    return None


def _restore(path: Path, fmt: Format, dsn: str, jobs: int) -> str:
    """Restore and return what the tool wrote to stderr; unreadable archives raise."""
    if fmt == "plain":
        result = run_tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", dsn, "-f", str(path)])
        return result.stderr
    listing = run_tool("pg_restore", ["-l", str(path)])
    if listing.returncode != 0:
        raise RestoregateError(f"{path}: cannot read the archive: {_last(listing.stderr)}")
    args = ["--no-owner", "--no-privileges", "-d", dsn]
    if jobs > 1 and fmt in ("custom", "directory"):
        args += ["-j", str(jobs)]
    result = run_tool("pg_restore", [*args, str(path)])
    if result.returncode != 0 and _UNREADABLE.search(result.stderr):
        raise RestoregateError(f"{path}: the archive is damaged: {_last(result.stderr)}")
    return result.stderr


def _last(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def restore_rule(errors: list[RestoreError], duration: float) -> RuleResult:
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        return RuleResult(
            "restore_errors",
            "restore_errors",
            "error",
            "fail",
            f"the restore reported {len(errors)} {noun}: objects or rows are missing",
            duration_s=duration,
            violations=list(errors),
        )
    return RuleResult(
        "restore_errors",
        "restore_errors",
        "error",
        "pass",
        "the restore reported no error",
        duration_s=duration,
    )


def verify_dump(
    path: Path,
    judge: Callable[[str], Report],
    *,
    jobs: int = 1,
    keep: bool = False,
    phase: Callable[[str], None] = lambda _: None,
) -> tuple[Report, str | None]:
    """Restore ``path`` into a throwaway server, run ``judge`` on it, prepend restore errors.

    Returns the report and, with ``keep``, where the server left running is and how to
    stop it.
    """
    fmt = detect_format(path)
    phase("starting an embedded PostgreSQL")
    server = throwaway_server(keep=keep)
    try:
        server.start()
        dsn = server.create_database(DATABASE)
        phase(f"restoring {path.name} ({fmt} format)")
        clock = time.perf_counter()
        errors = restore_errors(_restore(path, fmt, dsn, jobs))
        restored = restore_rule(errors, time.perf_counter() - clock)
        phase("checking the restored database")
        report = judge(dsn)
        report.rules.insert(0, restored)
        kept = f"the restored database is still running: {dsn}\n{server.stop_instructions()}"
        return report, kept if keep else None
    finally:
        if not keep:
            server.stop()
