"""Layers point one way: cli -> api -> checks/scope -> backend -> postgres. Kept by test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "restoregate"

# module (or package) -> imports it must never make
FORBIDDEN = {
    "cli.py": ("psycopg", "restoregate.postgres", "restoregate.checks", "restoregate.probes"),
    "render": ("psycopg", "restoregate.postgres", "restoregate.api", "restoregate.checks"),
    "checks": ("psycopg", "restoregate.postgres", "restoregate.api", "restoregate.cli"),
    "scope.py": ("psycopg", "restoregate.postgres"),
    "probes.py": ("psycopg", "restoregate.postgres"),
    "report.py": ("psycopg", "restoregate.postgres", "rich"),
    "catalog.py": ("psycopg", "restoregate.postgres"),
    "backend.py": ("psycopg", "restoregate.postgres"),
    "postgres": ("restoregate.api", "restoregate.cli", "restoregate.checks", "restoregate.render"),
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_layer_boundaries(where):
    target = PACKAGE / where
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files
    for file in files:
        for name in imports(file):
            bad = [f for f in FORBIDDEN[where] if name == f or name.startswith(f + ".")]
            assert not bad, f"{file.relative_to(PACKAGE)} imports {name}"
