"""The GitHub Action's script, run locally as a runner would run it (GITHUB_* set)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.report_schema import parse_report

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "action" / "gate.sh"
RESTOREGATE = Path(sys.executable).parent / "restoregate"
INCIDENT = """
CREATE TABLE accounts (id serial PRIMARY KEY);
INSERT INTO accounts SELECT FROM generate_series(1, 3);
SELECT setval('accounts_id_seq', 1);
"""


def action(tmp_path: Path, **inputs: str) -> tuple[int, dict[str, str], str]:
    """Run the action's step; its exit status, its outputs and what it printed."""
    outputs = tmp_path / "github_output"
    outputs.touch()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RG_", "RESTOREGATE_"))},
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "RG_RESTOREGATE": str(RESTOREGATE),
        "RG_PACKAGE": str(ROOT),
        **{f"RG_{k.upper()}": v for k, v in inputs.items()},
    }
    env = {k: v for k, v in env.items() if v != "<unset>"}
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    said = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return proc.returncode, said, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"dump": "nightly.dump", "dsn": "postgresql://x@db/prod"}, "a dump or a dsn, not both"),
        ({}, "give the action a dump"),
        ({"dsn": "postgresql://x@db/prod", "format": "html"}, "format must be"),
    ],
)
def test_usage_errors_still_set_exit_code(tmp_path, inputs, message):
    code, outputs, printed = action(tmp_path, **inputs)
    assert code == 2
    assert outputs["exit-code"] == "2"
    assert "::error title=restoregate::" in printed and message in printed


def test_a_failed_install_says_so_and_sets_exit_code_3(tmp_path):
    code, outputs, printed = action(
        tmp_path, dsn="postgresql://x@db/prod", restoregate="<unset>", python="/no/python3"
    )
    assert code == 3 and outputs["exit-code"] == "3"
    assert "could not install restoregate with /no/python3" in printed


# A stand-in for the runner's python3: `-m venv DIR` makes DIR/bin/python one that
# records what pip was asked to install, then fails (nothing is downloaded).
RECORDING_PYTHON = """#!/bin/sh
mkdir -p "$3/bin"
printf '#!/bin/sh\\necho "$*" >> %s\\nexit 1\\n' "$RECORD" > "$3/bin/python"
chmod +x "$3/bin/python"
"""


@pytest.mark.parametrize(
    ("inputs", "package"),
    [({"dump": "nightly.dump"}, f"{ROOT}[embedded]"), ({"dsn": "postgresql://x@db/p"}, str(ROOT))],
)
def test_a_dump_installs_the_embedded_postgresql_a_dsn_does_not(
    tmp_path, monkeypatch, inputs, package
):
    python = tmp_path / "python3"
    python.write_text(RECORDING_PYTHON)
    python.chmod(0o755)
    record = tmp_path / "pip-args"
    monkeypatch.setenv("RECORD", str(record))
    code, outputs, _ = action(tmp_path, restoregate="<unset>", python=str(python), **inputs)
    assert code == 3 and outputs["exit-code"] == "3"
    assert record.read_text().split()[-1] == package


def test_a_closed_gate_fails_the_step_with_a_report_and_a_summary(db, tmp_path):
    db.execute(INCIDENT)
    code, outputs, printed = action(tmp_path, dsn=db.dsn)
    assert code == 1 and outputs["exit-code"] == "1"
    assert outputs["report"] == "restoregate-report.xml"
    assert "<testsuites" in (tmp_path / "restoregate-report.xml").read_text()
    assert "::error" in printed
    assert "GATE CLOSED" in (tmp_path / "summary.md").read_text()


def test_a_good_dump_opens_the_gate_and_names_the_report_after_its_format(db, dump, tmp_path):
    db.execute(
        "CREATE TABLE t (id serial PRIMARY KEY); INSERT INTO t SELECT FROM generate_series(1, 5);"
    )
    dump(db, tmp_path / "nightly.dump", "-Fc")
    code, outputs, printed = action(tmp_path, dump="nightly.dump", format="json")
    assert code == 0, printed
    assert outputs == {"exit-code": "0", "report": "restoregate-report.json"}
    assert parse_report((tmp_path / "restoregate-report.json").read_text())["passed"] is True


def test_the_action_never_inlines_expressions_in_scripts_nor_sets_up_python():
    spec = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = spec["runs"]["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step
        assert "setup-python" not in step.get("uses", ""), step
    assert steps[-1]["run"] == 'bash "$GITHUB_ACTION_PATH/action/gate.sh"'
    inputs = {f"RG_{name.upper()}" for name in spec["inputs"]}
    assert inputs <= set(steps[-1]["env"]), "every input reaches the script"


def test_the_readme_shows_the_example_workflow_verbatim():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".github" / "workflows" / "example-nightly-backup.yml").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert example in blocks
    assert "restoregate/restoregate@v0" in example, "pinned by a release tag"
    assert re.search(r"name: restore-gate\.xml", example), "the artifact has an extension"
