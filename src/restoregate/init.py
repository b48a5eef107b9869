"""``restoregate init``: a starter rules file for the connected database.

The default rules, the catalog check, and every suspected logical reference with the
evidence that suggested it, as a comment a reviewer can weigh before committing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from restoregate.catalog import Catalog
from restoregate.inference import Suspect
from restoregate.names import quote_ident
from restoregate.report import ENGINE_NAMES


def _yaml_string(text: str) -> str:
    """A YAML single-quoted scalar: safe for any name, quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def render_rules(catalog: Catalog, suspects: list[Suspect], now: datetime | None = None) -> str:
    moment = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Rules for database {quote_ident(catalog.server.database)} "
        f"({ENGINE_NAMES[catalog.server.engine]} {catalog.server.version.split()[0]}), "
        "written by restoregate init on "
        f"{moment}.",
        "# Review the references below: each was inferred from names and confirmed by a",
        "# sample of the data. Keep the real ones, delete the rest, then commit this file.",
        "# Validate with: restoregate rules lint FILE",
        "version: 1",
    ]
    if suspects:
        lines.append("references:")
        for suspect in suspects:
            ref = suspect.reference
            lines.append(f"  # {suspect.evidence}")
            lines.append(f"  - from: {_yaml_string(str(ref.child))}")
            lines.append(f"    to: {_yaml_string(str(ref.parent))}")
    else:
        lines.append("# references: none suspected; declare logical references here")
        lines.append("references: []")
    lines += [
        "rules:",
        "  - id: sequences",
        "    check: sequences",
        "    description: Every sequence is ahead of every key that uses it",
        "  - id: references",
        "    check: references",
        "    description: No row points at a parent that does not exist",
        "  - id: catalog",
        "    check: catalog",
        "    description: Indexes, constraints, triggers and views came back whole",
        "  - id: suspected-references",
        "    check: suspected_references",
        "    severity: warn",
        "    description: Columns that look like undeclared references, checked for orphans",
    ]
    return "\n".join(lines) + "\n"
