"""Hostile and random rules files: only RulesError ever comes out, and names round-trip."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from restoregate.checks import CHECKS
from restoregate.errors import RulesError
from restoregate.names import (
    DEFAULT_SCHEMA,
    ColumnSet,
    NameError_,
    QualifiedName,
    parse_column_set,
    parse_table,
    quote_ident,
)
from restoregate.rules.loader import load_rules_files, load_rules_text
from restoregate.rules.ruleset import RuleSet

# Moderate for CI; RESTOREGATE_FUZZ_EXAMPLES=5000 for a long hunt.
EXAMPLES = int(os.environ.get("RESTOREGATE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a line break


def outcome(text: str, path: str = "fuzz.yaml") -> RuleSet | RulesError:
    """Load, and check what any error must be: one short line at a place in the file."""
    try:
        return check_valid(load_rules_text(text, path))
    except RulesError as exc:
        check_error(exc, text, path)
        return exc


def check_error(exc: RulesError, text: str, path: str) -> None:
    lines = _BREAKS.split(text)
    assert exc.path == path
    assert 1 <= exc.line <= len(lines) + 1, str(exc)
    assert 1 <= exc.col <= max(map(len, lines)) + 2, str(exc)
    assert "\n" not in exc.detail and len(str(exc)) < 400, str(exc)[:400]


def check_valid(rules: RuleSet) -> RuleSet:
    assert rules.rules, "a valid rule set always has rules"
    assert len({r.id for r in rules.rules}) == len(rules.rules)
    assert all(r.check in CHECKS and r.severity in ("error", "warn") for r in rules.rules)
    assert rules.schemas is None or rules.schemas
    return rules


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    outcome(text)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_from_a_file(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            check_valid(load_rules_files([path]))
        except RulesError as exc:
            assert exc.path == str(path) and exc.line >= 1 and exc.col >= 1
            assert "\n" not in exc.detail


GOOD = """\
version: 1
schemas: [public, '"Sales Data"']
exclude: ["public.audit_*"]
references:
  - from: journals(user_id)
    to: '"Sales Data"."Order"("Id")'
rules:
  - id: seq
    check: sequences
    headroom: 0.8
  - {id: refs, check: references, severity: warn}
  - {id: u, check: unique, table: accounts, columns: [lower(email)]}
  - {id: n, check: row_count, table: accounts, min: 1}
"""


def test_the_mutation_seed_is_valid():
    assert len(check_valid(load_rules_text(GOOD, "seed")).rules) == 4


@FUZZ
@given(st.data())
def test_mutated_good_file(data):
    """One character replaced, inserted or deleted anywhere in a valid file."""
    index = data.draw(st.integers(0, len(GOOD)))
    char = data.draw(st.sampled_from(list(" \t\n:-[]{},'\"&*!#%@`|>()$.x1~")) | st.characters())
    how = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    tail = GOOD[index + 1 :] if how != "insert" else GOOD[index:]
    outcome(GOOD[:index] + ("" if how == "delete" else char) + tail)


KEYS = st.sampled_from(
    [
        *("version", "rules", "schemas", "exclude", "references", "id", "check", "severity"),
        *("description", "from", "to", "headroom", "table", "tables", "columns", "min", "max"),
        *("include", "roles", "sql", "x", "<<"),
    ]
)
WORDS = st.sampled_from(
    [
        *sorted(CHECKS),
        *("error", "warn", "a(b)", "public.t(c)", "${HOME}", "${UNSET_RG_VARIABLE}", "$${x}"),
        *('"Q"."T"("C")', "x(", "", "public.*", "audit", "lower(email)", "select 1", "0.8"),
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**30),
    st.floats(allow_nan=True),
    WORDS,
    st.text(max_size=12),
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)


def with_stray_key(
    mappings: st.SearchStrategy[dict[str, object]],
) -> st.SearchStrategy[dict[str, object]]:
    """Now and then one more key, known or not, with any value."""
    stray = (
        st.just({})
        | st.just({})
        | st.just({})
        | st.dictionaries(KEYS, TREES, min_size=1, max_size=1)
    )
    return st.tuples(mappings, stray).map(lambda pair: {**pair[0], **pair[1]})


def either(plausible: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Mostly what a rules file would hold there, sometimes anything at all."""
    return st.one_of(plausible, plausible, plausible, TREES)


RULE = with_stray_key(
    st.fixed_dictionaries(
        {
            "id": either(st.sampled_from(["a", "b", "c"])),
            "check": either(st.sampled_from(sorted(CHECKS))),
        },
        optional={
            "severity": either(st.sampled_from(["error", "warn", "fatal"])),
            "description": SCALARS,
            "table": either(WORDS),
            "columns": either(st.lists(WORDS, max_size=3)),
            "min": SCALARS,
            "max": SCALARS,
            "headroom": SCALARS,
            "tables": either(st.lists(WORDS, max_size=2)),
            "sql": either(WORDS),
        },
    )
)
REFERENCE = st.fixed_dictionaries(
    {"from": either(WORDS), "to": either(WORDS)}, optional={"via": TREES}
)
DOCUMENT = with_stray_key(
    st.fixed_dictionaries(
        {
            "version": st.sampled_from([*[1] * 8, 2, "1", None]),
            "rules": either(st.lists(RULE, max_size=4)),
        },
        optional={
            "schemas": either(st.lists(WORDS | st.text(max_size=8), max_size=3)),
            "exclude": either(st.lists(WORDS, max_size=3)),
            "references": either(st.lists(REFERENCE, max_size=3)),
        },
    )
)


@FUZZ
@given(DOCUMENT)
def test_structured_documents(doc):
    outcome(yaml.safe_dump(doc, allow_unicode=True))


REFERENCE_TEXT = st.text(st.sampled_from(list('abAB_"().,  x1$é')), min_size=1, max_size=20)


@FUZZ
@given(REFERENCE_TEXT)
def test_a_malformed_reference_points_at_the_bad_character(value):
    assume("'" not in value)
    try:
        parse_column_set(value)
    except NameError_ as exc:
        offset = exc.offset
    else:
        return
    line = f"  - {{from: '{value}', to: 'a(b)'}}"
    error = outcome(f"version: 1\nreferences:\n{line}\nrules:\n  - {{id: s, check: sequences}}\n")
    assert isinstance(error, RulesError) and error.line == 3
    assert line[error.col - 1 :].startswith(value[offset:]), (str(error), offset)


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
    assert parse_table(quote_ident(table)) == QualifiedName(DEFAULT_SCHEMA, table)
    cols = ColumnSet(name, tuple(columns))
    assert parse_column_set(str(cols)) == cols
    spaced = f"{name} ( " + " ,\t".join(map(quote_ident, columns)) + " )"
    assert parse_column_set(spaced) == cols


@FUZZ
@given(st.text(max_size=40))
def test_name_parser_only_raises_its_own_error(text):
    try:
        parse_column_set(text)
    except NameError_ as exc:
        assert 0 <= exc.offset <= len(text)


@pytest.mark.parametrize("size", [10, 30])
def test_alias_bombs_of_any_size_are_refused(size):
    lines = ["version: 1", "a0: &a0 [x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, size)]
    assert isinstance(outcome("\n".join(lines) + "\nrules: []\n"), RulesError)
