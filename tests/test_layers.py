"""Layers point one way: cli -> api -> checks/scope/probes -> engines.base <- engines/*.

Kept by test. ``from restoregate import engines`` and ``import restoregate.engines.postgres``
are both imports of the engine, so every imported name is recorded with its module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "restoregate"

DRIVERS = ("psycopg", "pymysql", "sqlite3")
ENGINES = (
    "restoregate.engines.postgres",
    "restoregate.engines.mysql",
    "restoregate.engines.sqlite",
)
NEUTRAL = (*DRIVERS, *ENGINES, "restoregate.engines")  # the registry is the API's business
CLI = ("restoregate.cli", "restoregate.commands")  # the group and its commands

# module (or package) -> imports it must never make
FORBIDDEN = {
    "cli.py": (*DRIVERS, *ENGINES, "restoregate.checks", "restoregate.probes"),
    "cli_remedy.py": (*DRIVERS, *ENGINES, "restoregate.checks", "restoregate.probes"),
    "commands": (*DRIVERS, *ENGINES, "restoregate.checks", "restoregate.probes"),
    "report": (
        *NEUTRAL,
        "restoregate.api",
        "restoregate.checks",
        *CLI,
    ),
    "checks": (*NEUTRAL, "restoregate.api", *CLI),
    "rules": (
        *NEUTRAL,
        "restoregate.api",
        *CLI,
        "restoregate.checks.sql",
    ),
    "api.py": (*DRIVERS, *ENGINES),  # the registry chooses the engine
    "scope.py": NEUTRAL,
    "probes.py": NEUTRAL,
    "catalog.py": NEUTRAL,
    "context.py": NEUTRAL,
    "inference": NEUTRAL,
    "manifest.py": NEUTRAL,
    "settings.py": NEUTRAL,
    "demo.py": DRIVERS,
    "verify.py": DRIVERS,
    "verify_engines.py": DRIVERS,
    "support.py": (*NEUTRAL,),
    "dialects.py": NEUTRAL,
    "engines/__init__.py": (*DRIVERS, *ENGINES),  # names packages, imports them lazily
    # remedy/engines.py is fix's registry: it may name schemes, never import an engine
    "remedy": (
        *DRIVERS,
        *ENGINES,
        "restoregate.api",
        *CLI,
        "restoregate.checks",
    ),
    "fence.py": NEUTRAL,
    "remediation.py": (*DRIVERS, *ENGINES),  # engines come through remedy/engines.py
    "fencing.py": (*DRIVERS, *ENGINES),
    "engines/base.py": (*NEUTRAL, "restoregate.checks"),
    "engines/postgres": (
        "restoregate.api",
        *CLI,
        "restoregate.checks",
        "pymysql",
    ),
}
ALLOWED = ("restoregate.engines.base",)


def imports(path: Path) -> set[str]:
    """Every module a file imports, and for ``from X import Y`` also ``X.Y``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def violations(where: str) -> list[str]:
    target = PACKAGE / where
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files, f"{where} does not exist"
    found = []
    for file in files:
        for name in sorted(imports(file)):
            if any(name == a or name.startswith(a + ".") for a in ALLOWED):
                continue
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[where]):
                found.append(f"{file.relative_to(PACKAGE)} imports {name}")
    return found


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_layer_boundaries(where):
    assert violations(where) == []


def test_the_layering_test_catches_an_engine_import(tmp_path, monkeypatch):
    """``from restoregate import engines`` inside a check must not slip through."""
    fake = tmp_path / "checks"
    fake.mkdir()
    (fake / "sneaky.py").write_text("from restoregate.engines import postgres\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path)
    assert "checks/sneaky.py imports restoregate.engines.postgres" in violations("checks")


def test_the_layering_test_catches_a_driver_import(tmp_path, monkeypatch):
    fake = tmp_path / "demo.py"
    fake.write_text("import psycopg\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path)
    assert violations("demo.py") == ["demo.py imports psycopg"]


def test_psycopg_lives_only_in_the_postgres_engine():
    outside = [
        f"{file.relative_to(PACKAGE)}"
        for file in sorted(PACKAGE.rglob("*.py"))
        if "engines/postgres" not in file.as_posix()
        and any(n == "psycopg" or n.startswith("psycopg.") for n in imports(file))
    ]
    assert outside == []
