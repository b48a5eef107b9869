"""Real schemas with no configuration: the public samples restored on every engine.

Each sample (``../shared/samples``) is built on PostgreSQL, carried to MariaDB and SQLite
by ``benchmarks/migrate.py`` where the row says so, dumped and restored the engine's way
(``pg_dump -Fc``/``pg_restore``, ``mariadb-dump``/``mariadb``, ``.dump``), and judged by
``restoregate check`` with no rules file. A clean restore must exit 0; the dvdrental
faults (``benchmarks/dvdrental.py``) must exit 1. Prints one Markdown table: sample,
engine, restore, exit code, what the check found, seconds of the check.

- dvdrental: the tar dump as shipped, clean and with its three faults, on each engine;
- danbooru: ``structure.sql`` filled by ``benchmarks/fill.py`` (``--rows`` to 4 x that
  per table), with its foreign keys and with every one dropped (a Rails app that
  declares none: ``user_id`` -> ``users`` must be found, intact); the latter on MariaDB
  and SQLite too;
- musicbrainz: ``load.sh`` with its own test data (rows breaking its foreign keys
  deleted, as ``benchmarks/inference_eval.py`` does), then with generated rows
  (``inference_data``), with and without foreign keys; the latter on MariaDB and SQLite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from benchmarks import dvdrental, fill, inference_data, migrate
from benchmarks.common import BenchError, client_tool, measure, restoregate_command, say

SAMPLES = ("dvdrental", "danbooru", "musicbrainz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mysql",
        default="mysql://root@127.0.0.1:3306/",
        help="MariaDB/MySQL admin URL for the MariaDB rows ('' to leave them out)",
    )
    parser.add_argument("--only", choices=SAMPLES, action="append", help="these samples only")
    parser.add_argument("--rows", type=int, default=150, help="danbooru: fewest rows per table")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if migrate.samples_dir() is None:
        parser.error("the shared samples are absent (set RESTOREGATE_SAMPLES)")
    if args.rows < 10:
        parser.error("--rows must be at least 10")


@dataclass
class Row:
    sample: str
    engine: str
    restore: str
    expected: int
    exit: int
    found: str
    seconds: float
    report: dict[str, Any]


def summary(report: dict[str, Any]) -> str:
    """What the check found, in a few words per rule."""
    rules = {r["id"]: r for r in report.get("rules", [])}
    parts = []
    seq = rules.get("sequences", {})
    if seq:
        behind = [v for v in seq["violations"] if v["kind"] == "sequence_behind"]
        text = f"{len(behind)} sequences behind" if behind else "sequences ok"
        if behind:
            text += " (" + ", ".join(
                f"next {v['next_value']}, max {v['max_value']}" for v in behind[:2]
            )
            text += ", …)" if len(behind) > 2 else ")"
        unchecked = len(seq.get("unchecked", []))
        parts.append(text + (f", {unchecked} unchecked" if unchecked else ""))
    refs = rules.get("references", {})
    if refs:
        orphans = sum(v["orphans"] for v in refs["violations"])
        reassignable = sum(v["reassignable"] for v in refs["violations"])
        parts.append(
            f"{orphans} orphans ({reassignable} reassignable)" if orphans else "no orphans"
        )
    sus = rules.get("suspected-references", {})
    if sus:
        strong = sus["violations"]
        weak = sus.get("advisories", [])
        text = f"suspected: {len(strong)} strong"
        if strong:
            text += f" ({sum(v['orphans'] for v in strong)} orphans)"
        text += f", {len(weak)} weak, {len(sus.get('intact_references', []))} intact"
        parts.append(text)
    return "; ".join(parts)


class Run:
    """Databases made for the evaluation (dropped at the end) and the rows measured."""

    def __init__(self, admin: str, mysql: str, workdir: Path) -> None:
        self.admin, self.workdir = admin, workdir
        self.rows: list[Row] = []
        self.pg_made: list[str] = []
        self.my_made: list[str] = []
        self.refused: dict[str, str] = {}  # generated data: tables left as loaded, and why
        with psycopg.connect(admin) as conn:
            major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]
        tools = [client_tool(n, major) for n in ("pg_dump", "pg_restore", "psql")]
        if any(t is None for t in tools):
            raise BenchError(f"no pg_dump/pg_restore/psql {major} found")
        self.pg_dump, self.pg_restore, self.psql = (Path(str(t)) for t in tools)
        self.my: dvdrental.MyServer | None = None
        if mysql:
            parts = urlsplit(mysql)
            self.my = dvdrental.MyServer(
                parts.hostname or "127.0.0.1",
                parts.port or 3306,
                unquote(parts.username or "root"),
                unquote(parts.password or ""),
            )

    # ---------------------------------------------------------------- measuring
    def judge(self, sample: str, engine: str, restore: str, dsn: str, expected: int) -> None:
        measured = measure(restoregate_command("check", "--dsn", dsn, "--format", "json"))
        try:
            report = dict(json.loads(measured.stdout))
            found = summary(report)
        except ValueError:
            report, found = {}, (measured.stderr.strip().splitlines() or ["no report"])[-1]
        row = Row(
            sample, engine, restore, expected, measured.returncode, found, measured.seconds, report
        )
        self.rows.append(row)
        mark = "ok" if row.exit == expected else f"WRONG (expected {expected})"
        say(f"{sample:12} {engine:10} {restore:22} exit {row.exit} {mark}  {found}")

    # ---------------------------------------------------------------- PostgreSQL
    def pg_create(self, prefix: str, template: str | None = None) -> str:
        name = dvdrental.unique(prefix)
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template or "template0")
        )
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(statement)
        self.pg_made.append(name)
        return name

    def pg_dsn(self, name: str) -> str:
        return make_conninfo(self.admin, dbname=name)

    def pg_copy(self, source: str, prefix: str) -> str:
        """pg_dump -Fc of ``source`` restored into a new database: its name."""
        archive = self.workdir / f"{source}.dump"
        dvdrental.run([self.pg_dump, "-Fc", "-f", archive, self.pg_dsn(source)])
        target = self.pg_create(prefix)
        dvdrental.run([self.pg_restore, "--no-owner", "-d", self.pg_dsn(target), archive])
        with psycopg.connect(self.pg_dsn(target), autocommit=True) as conn:
            conn.execute(b"ANALYZE")
        return target

    def drop_foreign_keys(self, name: str) -> int:
        with psycopg.connect(self.pg_dsn(name), autocommit=True) as conn:
            found = conn.execute(
                b"SELECT conrelid::regclass::text, conname FROM pg_constraint"
                b" WHERE contype = 'f' AND conparentid = 0"
            ).fetchall()
            for table, constraint in found:
                conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.SQL(table), sql.Identifier(constraint)
                    )
                )
        return len(found)

    # ---------------------------------------------------------------- the other engines
    def other_engines(self, sample: str, source: str, schema: str, restore: str) -> None:
        """``source`` (PostgreSQL) carried to MariaDB and SQLite, dumped, restored, judged."""
        if self.my is not None and shutil.which("mariadb-dump") and shutil.which("mariadb"):
            built = self.my_create(f"rg_{sample[:4]}_src")
            conn = self.my.connect(built)
            try:
                with psycopg.connect(self.pg_dsn(source)) as pg:
                    migrate.to_mysql(pg, conn, schema)
            finally:
                conn.close()
            script = self.workdir / f"{built}.sql"
            with script.open("w") as out:
                subprocess.run(
                    [*self.my.client("mariadb-dump"), built], stdout=out, check=True, timeout=600
                )
            target = self.my_create(f"rg_{sample[:4]}")
            with script.open() as source_file:
                dvdrental.run([*self.my.client("mariadb"), target], stdin=source_file)
            auth = self.my.user + (f":{self.my.password}" if self.my.password else "")
            self.judge(
                sample,
                "mariadb",
                restore,
                f"mysql://{auth}@{self.my.host}:{self.my.port}/{target}",
                0,
            )
        built_file = self.workdir / f"{sample}-source.db"
        built_file.unlink(missing_ok=True)
        with psycopg.connect(self.pg_dsn(source)) as pg:
            migrate.to_sqlite(pg, built_file, schema)
        restored = self.workdir / f"{sample}-restored.db"
        restored.unlink(missing_ok=True)
        src, dst = sqlite3.connect(built_file), sqlite3.connect(restored)
        try:
            dst.executescript("\n".join(src.iterdump()))
        finally:
            src.close()
            dst.close()
        self.judge(sample, "sqlite", restore, f"sqlite:///{restored}", 0)

    def my_create(self, prefix: str) -> str:
        assert self.my is not None
        name = self.my.create_database(prefix)
        self.my_made.append(name)
        return name

    def drop_all(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for name in reversed(self.pg_made):
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(statement.format(sql.Identifier(name)))
        if self.my is not None and self.my_made:
            conn = self.my.connect()
            try:
                with conn.cursor() as cur:
                    for name in self.my_made:
                        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            finally:
                conn.close()


def run_dvdrental(run: Run) -> None:
    tools = dvdrental.Tools(run.pg_dump, run.pg_restore)
    pg = dvdrental.PgDays(run.admin, tools, run.workdir)
    days: list[tuple[str, Any]] = [("postgresql", pg)]
    my = None
    try:
        if run.my is not None and shutil.which("mariadb-dump") and shutil.which("mariadb"):
            my = dvdrental.MyDays(pg, run.my, "mariadb-dump", "mariadb")
            days.append(("mariadb", my))
        days.append(("sqlite", dvdrental.SqliteDays(pg, run.workdir)))
        for fault in dvdrental.FAULTS:
            for engine, built in days:
                dsn = built.restore(fault)
                run.judge("dvdrental", engine, fault, dsn, 0 if fault == "clean" else 1)
    finally:
        pg.drop_all()
        if my is not None:
            my.drop_all()


def run_danbooru(run: Run, rows: int) -> None:
    structure = migrate.samples_dir() / "danbooru" / "structure.sql"  # type: ignore[operator]
    source = run.pg_create("rg_danbooru_src")
    dvdrental.run([run.psql, "-X", "-q", "-d", run.pg_dsn(source), "-f", structure])
    filled = fill.fill(run.pg_dsn(source), rows)
    if filled.refused:
        say(f"danbooru: tables left empty: {filled.refused}")
    run.judge("danbooru", "postgresql", "clean", run.pg_dsn(run.pg_copy(source, "rg_danbooru")), 0)
    loose = run.pg_create("rg_danbooru_nofk", template=source)
    dropped = run.drop_foreign_keys(loose)
    label = f"clean, {dropped} FKs dropped"
    run.judge("danbooru", "postgresql", label, run.pg_dsn(run.pg_copy(loose, "rg_danbooru")), 0)
    run.other_engines("danbooru", loose, "public", label)


def run_musicbrainz(run: Run) -> None:
    loader = migrate.samples_dir() / "musicbrainz" / "load.sh"  # type: ignore[operator]
    source = dvdrental.unique("rg_musicbrainz_src")
    run.pg_made.append(source)  # dropped even when the load fails half-way
    for note in inference_data.load_musicbrainz(loader, run.admin, source, run.psql.parent):
        say(f"musicbrainz: {note}")
    dsn = run.pg_dsn(source)
    inference_data.repair(dsn, foreign_keys)
    with psycopg.connect(dsn, autocommit=True) as c:
        inference_data.settle_sequences(c)
    run.judge("musicbrainz", "postgresql", "test data", run.pg_dsn(run.pg_copy(source, "rg_mb")), 0)
    run.refused = inference_data.generate(dsn, foreign_keys)
    if run.refused:
        say(f"musicbrainz: {len(run.refused)} tables left as loaded (a CHECK or trigger)")
    label = "generated rows"
    run.judge("musicbrainz", "postgresql", label, run.pg_dsn(run.pg_copy(source, "rg_mb")), 0)
    loose = run.pg_create("rg_mb_nofk", template=source)
    dropped = run.drop_foreign_keys(loose)
    label = f"generated, {dropped} FKs dropped"
    run.judge("musicbrainz", "postgresql", label, run.pg_dsn(run.pg_copy(loose, "rg_mb")), 0)
    run.other_engines("musicbrainz", loose, "musicbrainz", label)


FKS = """
SELECT cn.nspname || '.' || cr.relname AS child, pn.nspname || '.' || pr.relname AS parent,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)
         AS child_columns,
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
         AS parent_columns
FROM pg_constraint c
JOIN pg_class cr ON cr.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cr.relnamespace
JOIN pg_class pr ON pr.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pr.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0
ORDER BY 1, c.conname
"""


def foreign_keys(dsn: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return list(cur.execute(FKS).fetchall())


def table(rows: list[Row]) -> str:
    lines = [
        "| sample | engine | restore | exit | expected | found | check s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.sample} | {r.engine} | {r.restore} | {r.exit} | {r.expected} | {r.found}"
            f" | {r.seconds:.2f} |"
        )
    return "\n".join(lines)


def run(dsn: str, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rg-samples-") as tmp:
        evaluation = Run(dsn, args.mysql, Path(tmp))
        steps: dict[str, Callable[[], None]] = {
            "dvdrental": lambda: run_dvdrental(evaluation),
            "danbooru": lambda: run_danbooru(evaluation, args.rows),
            "musicbrainz": lambda: run_musicbrainz(evaluation),
        }
        try:
            for name in args.only or SAMPLES:
                steps[name]()
        finally:
            if not args.keep:
                evaluation.drop_all()
    say()
    say(table(evaluation.rows))
    say(f"\n{len(evaluation.rows)} restores judged in {time.perf_counter() - started:.0f} s")
    wrong = [r for r in evaluation.rows if r.exit != r.expected]
    return 1 if wrong else 0
