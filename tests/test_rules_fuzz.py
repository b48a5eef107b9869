"""Hostile and random rules files: only RulesError ever comes out, and names round-trip."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restoregate.errors import RulesError
from restoregate.names import (
    ColumnSet,
    NameError_,
    QualifiedName,
    parse_column_set,
    parse_table,
)
from restoregate.rules_loader import load_rules_text
from restoregate.ruleset import RuleSet

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(text: str) -> RuleSet | RulesError:
    try:
        return load_rules_text(text, "fuzz.yaml")
    except RulesError as exc:
        assert exc.line >= 1 and exc.col >= 1
        assert "\n" not in exc.detail
        return exc


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    outcome(text)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decoded(data):
    outcome(data.decode("utf-8", errors="replace"))


KEYS = st.sampled_from(
    [
        "version",
        "rules",
        "schemas",
        "exclude",
        "references",
        "id",
        "check",
        "severity",
        "description",
        "from",
        "to",
        "headroom",
        "table",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            "sequences",
            "references",
            "error",
            "warn",
            "a(b)",
            "public.t(c)",
            "${HOME}",
            "${UNSET_RG_VARIABLE}",
            '"Q"."T"("C")',
            "x(",
            "",
        ]
    ),
    st.text(max_size=12),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)


@FUZZ
@given(st.dictionaries(KEYS, TREES, max_size=6), st.booleans())
def test_structured_documents(doc, with_version):
    if with_version:
        doc["version"] = 1
    result = outcome(yaml.safe_dump(doc))
    if isinstance(result, RuleSet):
        assert result.rules, "a valid rule set always has rules"


IDENT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)


@FUZZ
@given(IDENT, IDENT, st.lists(IDENT, min_size=1, max_size=3, unique=True))
def test_names_round_trip(schema, table, columns):
    name = QualifiedName(schema, table)
    assert parse_table(str(name)) == name
    cols = ColumnSet(name, tuple(columns))
    assert parse_column_set(str(cols)) == cols


@FUZZ
@given(st.text(max_size=40))
def test_name_parser_only_raises_its_own_error(text):
    try:
        parse_column_set(text)
    except NameError_ as exc:
        assert 0 <= exc.offset <= len(text)
