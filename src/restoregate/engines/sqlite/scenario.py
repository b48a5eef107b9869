"""Building the demo's broken restore as SQLite files: no server at all."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path


def _script(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def build(directory: Path) -> Path:
    """live.db gets the app and a .backup; the restore takes accounts from the backup and
    journals from the live file, as a restore from two places does. Returns the restore."""
    live, backup, restored = (directory / n for n in ("live.db", "backup.db", "restored.db"))
    with sqlite3.connect(live) as conn:
        conn.executescript(_script("demo_scenario"))
        with sqlite3.connect(backup) as copy:
            conn.backup(copy)  # the nightly backup (sqlite3's .backup)
        copy.close()
        conn.executescript(_script("demo_after_backup"))
    conn.close()
    with sqlite3.connect(restored) as conn:
        conn.executescript("".join(_dump(backup, "accounts")) + "".join(_dump(live, "journals")))
    conn.close()
    return restored


def _dump(path: Path, table: str) -> list[str]:
    """One table of a file as the .dump command writes it."""
    ours = re.compile(rf'^(CREATE TABLE\s+"?{table}"?\s*\(|INSERT INTO "{table}")')
    with sqlite3.connect(path) as conn:
        lines = [statement + "\n" for statement in conn.iterdump() if ours.match(statement)]
    conn.close()
    return lines
