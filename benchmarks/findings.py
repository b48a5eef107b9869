"""What each side found, and every difference from what was injected."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import BenchError
from benchmarks.rows_build import Expected


@dataclass
class Findings:
    """What one side found, in the shape both sides can be compared with Expected."""

    orphans: dict[str, tuple[int, int]]  # reference -> (orphans, reassignable)
    behind: dict[str, tuple[str, int, int, str]]
    samples: dict[str, list[list[Any]]] = field(default_factory=dict)  # reference -> keys
    problems: list[str] = field(default_factory=list)  # errors, unexpected statuses


def findings_from_report(report: dict[str, Any]) -> Findings:
    problems: list[str] = []
    orphans: dict[str, tuple[int, int]] = {}
    samples: dict[str, list[list[Any]]] = {}
    behind: dict[str, tuple[str, int, int, str]] = {}
    for rule in report.get("rules", []):
        if rule["status"] not in ("pass", "fail"):
            problems.append(f"rule {rule['id']}: status {rule['status']}: {rule.get('message')}")
        for item in rule.get("unchecked", []):
            problems.append(f"rule {rule['id']}: not checked: {item}")
        for v in rule.get("violations", []):
            if v.get("kind") == "orphans":
                orphans[v["reference"]] = (v["orphans"], v["reassignable"])
                samples[v["reference"]] = v["sample"]
            elif v.get("kind") == "sequence_behind":
                behind[v["sequence"]] = (
                    v["column"],
                    v["next_value"],
                    v["max_value"],
                    v["max_source"],
                )
            else:
                problems.append(f"rule {rule['id']}: unexpected finding {v}")
    return Findings(orphans, behind, samples, problems)


def compare(side: str, found: Findings, expected: Expected) -> list[str]:
    """Every difference between what was injected and what a side reported, exactly."""
    problems = [f"{side}: {p}" for p in found.problems]
    for ref in sorted(set(expected.orphans) | set(found.orphans)):
        want, got = expected.orphans.get(ref), found.orphans.get(ref)
        if want is None:
            problems.append(f"{side}: reported {ref} with {got}, nothing was injected there")
        elif got is None:
            problems.append(f"{side}: missed {ref}: injected {want[0]} orphans")
        elif got != want:
            problems.append(f"{side}: {ref}: expected orphans/reassignable {want}, got {got}")
    for seq in sorted(set(expected.behind) | set(found.behind)):
        want_seq, got_seq = expected.behind.get(seq), found.behind.get(seq)
        if want_seq != got_seq:
            problems.append(f"{side}: {seq}: expected behind {want_seq}, got {got_seq}")
    return problems


def agree(ours: Findings, theirs: Findings) -> list[str]:
    """The two sides must produce the same numbers, samples included."""
    problems = []
    if ours.orphans != theirs.orphans:
        problems.append(f"orphan counts differ: {ours.orphans} against {theirs.orphans}")
    if ours.behind != theirs.behind:
        problems.append(f"sequences behind differ: {ours.behind} against {theirs.behind}")
    for ref in sorted(set(ours.samples) | set(theirs.samples)):
        if ours.samples.get(ref) != theirs.samples.get(ref):
            problems.append(f"{ref}: samples differ")
    return problems


def restoregate_runner(mode: str) -> tuple[str, Callable[[str, Path], dict[str, Any]]]:
    """The in-process API when it exists (or --mode api), else the CLI in a subprocess."""
    run_check = None
    if mode != "cli":
        try:
            from restoregate import api

            run_check = getattr(api, "run_check", None)
        except ImportError:
            run_check = None
        if run_check is None and mode == "api":
            raise BenchError("restoregate.api.run_check is not importable")

    if run_check is not None:
        check = run_check

        def in_process(dsn: str, rules: Path) -> dict[str, Any]:
            result: dict[str, Any] = check(dsn, [str(rules)]).to_dict()
            return result

        return "restoregate.api.run_check, in process", in_process

    def subprocess_cli(dsn: str, rules: Path) -> dict[str, Any]:
        command = [sys.executable, "-m", "restoregate", "check", "--dsn", dsn]
        result = subprocess.run(
            [*command, "--rules", str(rules), "--format", "json"], capture_output=True, text=True
        )
        if result.returncode not in (0, 1):  # 1: the gate closed, as it must here
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise BenchError(f"restoregate check exited {result.returncode}: {tail}")
        report: dict[str, Any] = json.loads(result.stdout)
        return report

    return "python -m restoregate check --format json, subprocess", subprocess_cli
