"""Docs stay true by test: check docstrings, the README's reference, shipped rule files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from restoregate.checks import CHECKS

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "src" / "restoregate" / "data" / "rules"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_docstring_shows_a_failing_and_a_passing_case(name):
    doc = CHECKS[name].__doc__ or ""
    assert "Fails" in doc and "Passes" in doc, f"{name}: docstring needs Fails/Passes examples"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_is_in_the_readme_reference(name):
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^### `{name}`$", readme, re.M), f"README lacks a section for {name}"


def test_shipped_rule_files_match_the_repository():
    shipped = sorted(p.relative_to(PACKAGED) for p in PACKAGED.rglob("*.yaml"))
    in_repo = sorted(p.relative_to(ROOT / "rules") for p in (ROOT / "rules").rglob("*.yaml"))
    assert shipped == in_repo
    for rel in shipped:
        assert (PACKAGED / rel).read_bytes() == (ROOT / "rules" / rel).read_bytes(), rel


def test_readme_first_screen_has_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "restoregate demo" in commands[0]
    assert "pytest" in commands[1]
