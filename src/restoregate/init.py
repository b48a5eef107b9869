"""``restoregate init``: a starter rules file for the connected database.

The built-in default rules (the same text ``restoregate rules show`` prints) and every
suspected logical reference with the evidence that suggested it, as a comment a
reviewer can weigh before committing. A reference that names propose and the data
confirms is written out; one the data alone suggests is written commented out, for the
reviewer to confirm or drop.
"""

from __future__ import annotations

from datetime import datetime, timezone

from restoregate.catalog import Catalog
from restoregate.inference.judge import Judged, Judgement
from restoregate.names import quote_ident
from restoregate.report import ENGINE_NAMES
from restoregate.rules import builtin


def _yaml_string(text: str) -> str:
    """A YAML single-quoted scalar: safe for any name, quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def _comment(text: str) -> str:
    return " ".join(text.split())  # one line: a name with a newline cannot end the comment


def confirmed(judged: Judged) -> bool:
    """Written as a reference: strong evidence, or a name the data agrees with.

    A name-matched suspect with orphans on weak evidence is left for the reviewer: on
    the database ``init`` reads, orphans say the guess (or the data) is wrong.
    """
    if judged.strong is not None:
        return True
    return judged.suspect.by_name and not judged.stats.orphans


def render_rules(catalog: Catalog, found: Judgement, now: datetime | None = None) -> str:
    moment = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Rules for database {_comment(quote_ident(catalog.server.database))} "
        f"({ENGINE_NAMES[catalog.server.engine]} {catalog.server.version.split()[0]}), "
        "written by restoregate init on "
        f"{moment}.",
        "# Review the references below: each was inferred from names and confirmed by a",
        "# sample of the data. Keep the real ones, move wrong ones to not_references:,",
        "# then commit this file. Validate with: restoregate rules lint FILE",
        "version: 1",
    ]
    lines += _references(found)
    # the rules are the built-in defaults, verbatim: `restoregate rules show` prints them
    lines.append("# Rules: the built-in defaults (restoregate rules show), then add your own.")
    lines.append(builtin.rules_section().rstrip("\n"))
    return "\n".join(lines) + "\n"


def _references(found: Judgement) -> list[str]:
    written = [j for j in found.judged if confirmed(j)]
    unsure = [j for j in found.judged if not confirmed(j)]
    if not written and not unsure:
        return [
            "# references: none suspected; declare logical references here",
            "references: []",
        ]
    lines = ["references:" if written else "references: []  # drop the [] to uncomment below"]
    for judged in written:
        lines += [f"  # {_comment(_evidence(judged))}", *_entry(judged, "")]
    if unsure:
        lines.append("  # Not confirmed (the data alone suggests them, or they have orphans):")
        lines.append("  # uncomment the real ones.")
    for judged in unsure:
        lines += [f"  # {_comment(_evidence(judged))}", *_entry(judged, "# ")]
    return lines


def _entry(judged: Judged, prefix: str) -> list[str]:
    ref = judged.reference
    return [
        f"  {prefix}- from: {_yaml_string(str(ref.child))}",
        f"  {prefix}  to: {_yaml_string(str(ref.parent))}",
    ]


def _evidence(judged: Judged) -> str:
    text = judged.suspect.evidence
    if judged.stats.orphans:
        text += f"; {judged.stats.orphans:,} orphaned rows now"
    return text
