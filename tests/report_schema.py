"""Every JSON report the tests produce is checked against ``docs/report.schema.json``.

In-process renders are checked by the autouse fixture in ``conftest.py`` (it wraps
``Report.to_dict``, which every JSON report goes through); reports read from a
subprocess go through :func:`parse_report`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "report.schema.json"


@functools.cache
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_report(document: dict[str, Any]) -> dict[str, Any]:
    """The document, unchanged; AssertionError naming every place it breaks the schema."""
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]
    assert not problems, "JSON report breaks docs/report.schema.json:\n" + "\n".join(problems)
    return document


def parse_report(text: str) -> dict[str, Any]:
    """A JSON report from a command's output, validated."""
    return validate_report(json.loads(text))
