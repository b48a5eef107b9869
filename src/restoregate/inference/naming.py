"""How real schemas name their references: the evidence names give, before data speaks.

A child column names its parent in one of a few ways, all seen in public schemas:
``user_id`` -> ``users`` (Rails), ``user_id`` -> ``auth_user`` (Django's app prefix),
``category_id`` -> ``categories``, ``customer_id`` -> ``customer.customer_id`` (the
parent's own key name), ``manager_staff_id`` -> ``staff`` (a role before the table),
``artist`` -> ``artist.id`` (MusicBrainz's bare names), ``CustomerId`` (camel case), and
self-references (``parent_id``, ``reports_to``). Each way gives a score; a higher score
ranks first, and the data still decides.
"""

from __future__ import annotations

import re
from functools import lru_cache

from restoregate.catalog import Table

SUFFIXES = ("id", "ref", "fk", "key", "uuid", "guid", "code")
# columns that point at a row of their own table whatever the table is called
SELF_NAMES = frozenset(
    {
        "parent",
        "parent_id",
        "reports_to",
        "manager_id",
        "predecessor_id",
        "successor_id",
        "previous_id",
        "next_id",
        "superseded_by",
        "replaced_by",
        "merged_into",
        "redirect_id",
        "root_id",
        "original_id",
    }
)
# who did something (creator_id, approver_id, owner_id, from_id) points at the table of people
AGENT_WORDS = frozenset({"owner", "from", "to", "by", "author", "assignee"})
PEOPLE = frozenset({"user", "account", "member", "person", "people", "employee", "staff"})
KEY_NAME, SIBLING, CONTEXT, EXACT, ROLE, PREFIXED, SELF, HEAD, AGENT = 2, 4, 3, 3, 2, 2, 2, 1, 1
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@lru_cache(maxsize=65536)  # names repeat across tables; memory stays bounded
def words(name: str) -> tuple[str, ...]:
    """``manager_staff_id`` -> (manager, staff, id); ``CustomerId`` -> (customer, id)."""
    return tuple(w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower()) if w)


@lru_cache(maxsize=65536)  # names repeat across tables; memory stays bounded
def singular(word: str) -> str:
    """The English singular of a table-name word, as schemas use them (not a dictionary)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@lru_cache(maxsize=65536)  # names repeat across tables; memory stays bounded
def normal(name: str) -> tuple[str, ...]:
    """A name's words with the last made singular: ``UserGroups`` -> (user, group)."""
    parts = words(name)
    return (*parts[:-1], singular(parts[-1])) if parts else ()


@lru_cache(maxsize=65536)  # names repeat across tables; memory stays bounded
def stem(column: str) -> tuple[tuple[str, ...], bool]:
    """The words naming the parent, and whether a reference suffix (``_id``...) ended it."""
    parts = words(column)
    if len(parts) > 1 and parts[-1] in SUFFIXES:
        return tuple(parts[:-1]), True
    if len(parts) == 1 and parts[0].endswith("id") and len(parts[0]) > 3 and column.islower():
        return (parts[0][:-2],), True  # "userid"
    return tuple(parts), False


def table_score(child_words: tuple[str, ...], table: Table, own: Table) -> tuple[int, str, str]:
    """How well a column's stem (in table ``own``) names ``table``: score, words, kind.

    (0, "", "") when it does not name it.
    """
    want = (*child_words[:-1], singular(child_words[-1])) if child_words else ()
    have = normal(table.name.name)
    if not want or not have:
        return 0, "", ""
    if want == have:
        return EXACT, "it is named after {parent}", "exact"
    mine = words(own.name.name)
    named_after = tuple(singular(w) for w in mine[: len(want)]) == want
    if not named_after and any(have == (*want, *mine[k:]) for k in range(1, len(mine))):
        # (not when its own table is named after the column: release_tag_raw.release is
        # the release whose raw tag votes it holds, not a release_raw)
        # track_raw.release -> release_raw: a sibling of the same family of tables
        return SIBLING, "its name with its table's suffix makes {parent}", "sibling"
    if have in ((*mine, *want), (*normal(own.name.name), *want)):
        # artist.type -> artist_type, posts.status_id -> post_statuses
        return CONTEXT, "its table's name and its own make {parent}", "context"
    if len(want) > len(have) and want[-len(have) :] == have:
        # manager_staff_id -> staff, parent_category_id -> category
        return ROLE, "its name ends with {parent}'s (a role before the table's name)", "role"
    if len(have) > len(want) and have[-len(want) :] == want:
        return PREFIXED, "{parent}'s name ends with its name", "prefixed"  # user_id -> auth_user
    if len(want) > 1 and len(have) > 1 and want[-1] == have[-1]:
        if table.name == own.name:
            # tag_versions.previous_version_id: a role before its own table's last word
            # names a row of its own table, not of every other *_versions table
            return SELF, "its name ends with its own table's: a role before {parent}", "self"
        return HEAD, "its name and {parent}'s end with the same word", "head"
    if (have[-1] in PEOPLE or agent(have[-1])) and agent(want[-1]):
        return (
            AGENT,
            "it names who acted, and {parent} holds people",
            "agent",
        )  # creator_id -> users
    return 0, "", ""


def agent(word: str) -> bool:
    """A word naming who acted: ``creator``, ``updater``, ``owner``, ``from``."""
    return word in AGENT_WORDS or (len(word) > 4 and word.endswith(("er", "or", "ee", "ient")))


def bare_names(column: str, table: Table, kind: str) -> bool:
    """A name without ``_id`` names a table only word for word, in the singular.

    ``artist`` -> ``artist``, ``begin_area`` -> ``area``, ``artist.type`` ->
    ``artist_type``; not ``notes.version`` -> ``note_versions`` (a counter), ``tags`` ->
    ``tags`` (a list of them), ``edit.status`` -> ``release_status`` (another table's).
    """
    mine, theirs = words(column), words(table.name.name)
    if kind not in ("exact", "sibling", "context", "role") or not (mine and theirs):
        return False
    if kind == "sibling":  # track_raw.release -> release_raw: the name, then the family
        return theirs[: len(mine)] == mine and singular(mine[-1]) == mine[-1]
    return mine[-1] == theirs[-1] and singular(mine[-1]) == mine[-1]


def self_named(column: str) -> bool:
    return "_".join(words(column)) in SELF_NAMES
