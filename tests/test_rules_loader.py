"""Rules files: every mistake is one FILE:LINE:COL line (exit 2), never a traceback."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from restoregate.checks import CHECKS
from restoregate.checks.base import params_class
from restoregate.errors import RulesError
from restoregate.names import ColumnSet, QualifiedName
from restoregate.rules import loader as rules_loader
from restoregate.rules.loader import (
    default_rules,
    example_rules,
    lint,
    load_rules_files,
    load_rules_text,
)
from restoregate.rules.params import params_fields, supported
from restoregate.rules.ruleset import TableFilter

REPO = Path(__file__).resolve().parent.parent
RULE = "rules:\n  - {id: s, check: sequences}\n"


def error_of(text: str) -> RulesError:
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    return caught.value


def first_line(error: RulesError) -> str:
    return str(error).split("\n")[0]


# --- a good file --------------------------------------------------------------------

GOOD = """\
version: 1
schemas: [public, '"Sales Data"', Billing]
exclude: ["public.audit_*"]
references:
  - from: journals(user_id)
    to: '"Sales Data"."Order"("Id")'
  - from: 'public.lines(order_id, "Line No")'
    to: '"Sales Data"."Order"("Id", line)'
rules:
  - id: seq
    check: sequences
    description: keys stay ahead
  - {id: refs, check: references, severity: warn}
  - {id: 2024, check: sequences, description: 2024-05-08}
"""


def test_a_good_file_becomes_the_model():
    rules = load_rules_text(GOOD, "r.yaml")
    assert rules.schemas == ("public", "Sales Data", "billing")
    assert rules.exclude == ("public.audit_*",)
    assert rules.sources == ("r.yaml",)
    simple, compound = rules.references
    assert simple.child == ColumnSet(QualifiedName("public", "journals"), ("user_id",))
    assert simple.parent == ColumnSet(QualifiedName("Sales Data", "Order"), ("Id",))
    assert compound.child.columns == ("order_id", "Line No")
    assert compound.parent.columns == ("Id", "line")
    positions = (simple.position, simple.child_position, simple.parent_position)
    assert [str(p) for p in positions] == ["r.yaml:5:5", "r.yaml:5:11", "r.yaml:6:9"]


def test_rules_keep_order_defaults_and_positions():
    seq, refs, dated = load_rules_text(GOOD, "r.yaml").rules
    assert (seq.id, seq.check, seq.severity, seq.description) == (
        "seq",
        "sequences",
        "error",
        "keys stay ahead",
    )
    assert (refs.severity, refs.description, str(refs.position)) == ("warn", None, "r.yaml:13:5")
    assert seq.params == CHECKS["sequences"].Params()  # type: ignore[attr-defined]
    # unquoted numbers and dates are taken as written where text is expected
    assert (dated.id, dated.description) == ("2024", "2024-05-08")


def test_packaged_defaults_are_the_repositorys_file():
    packaged = resources.files("restoregate.data").joinpath("rules/default.yaml")
    assert packaged.read_text("utf-8") == (REPO / "rules/default.yaml").read_text("utf-8")
    rules = default_rules()
    assert rules.sources == ("rules/default.yaml (built-in)",)
    assert {"sequences", "references"} <= {r.id for r in rules.rules}
    assert all(str(r.position).startswith("rules/default.yaml (built-in):") for r in rules.rules)


def test_example_rules_load_and_unknown_examples_are_rules_errors():
    dayone = example_rules("dayone")
    assert [str(r.child) for r in dayone.references] == ["public.journals(user_id)"]
    assert dayone.sources == ("rules/examples/dayone.yaml",)
    for name in ("nope", "../default"):
        with pytest.raises(RulesError, match="no example rules named"):
            example_rules(name)


# --- mistakes, each at its exact position -------------------------------------------

MISTAKES = [
    ("empty", "", "1:1: the rules file is empty"),
    ("only-comments", "# nothing yet\n", "1:1: the rules file is empty"),
    ("null-document", "~\n", "1:1: the rules file is empty"),
    (
        "yaml-syntax",
        "version: 1\nrules: [}\n",
        "2:9: invalid YAML: expected the node content, but found '}' "
        "(while parsing a flow node on line 2)",
    ),
    (
        "top-level-list",
        "- 1\n",
        "1:1: the rules file: expected a mapping with version: 1 and rules, found a list",
    ),
    ("no-version", "rules: []\n", "1:1: missing key 'version'"),
    (
        "version-2",
        "version: 2\n" + RULE,
        "1:10: unsupported version: expected 1, found the number 2",
    ),
    (
        "version-bool",
        "version: true\n" + RULE,
        "1:10: unsupported version: expected 1, found the boolean true",
    ),
    (
        "version-text",
        "version: '1'\n" + RULE,
        "1:10: unsupported version: expected 1, found the text '1'",
    ),
    (
        "version-float",
        "version: 1.0\n" + RULE,
        "1:10: unsupported version: expected 1, found the number 1.0",
    ),
    ("no-rules-key", "version: 1\n", "1:1: missing key 'rules'"),
    (
        "no-rules",
        "version: 1\nrules: []\n",
        "2:8: rules: the list is empty, and a gate that judges nothing is not open",
    ),
    (
        "rules-mapping",
        "version: 1\nrules: {id: x}\n",
        "2:8: rules: expected a list of rules, found a mapping",
    ),
    (
        "rule-list",
        "version: 1\nrules:\n  - [id, check]\n",
        "3:5: rules: expected a rule (a mapping with id and check), found a list",
    ),
    ("unknown-top-key", "version: 1\nrulez: []\n" + RULE, "2:1: unknown key 'rulez'"),
    (
        "duplicate-key",
        "version: 1\nversion: 1\n" + RULE,
        "2:1: duplicate key 'version' (first on line 1)",
    ),
    (
        "two-documents",
        "version: 1\n" + RULE + "---\nversion: 1\n",
        "4:1: a second YAML document: a rules file holds exactly one",
    ),
    (
        "python-tag",
        "version: 1\nrules: !!python/object:os.system {}\n",
        "2:8: unsupported YAML tag '!!python/object:os.system'",
    ),
    ("local-tag", "version: 1\nx: !env HOME\n" + RULE, "2:4: unsupported YAML tag '!env'"),
    (
        "alias",
        "version: 1\nx: &a [1]\ny: *a\n" + RULE,
        "3:4: YAML aliases (*name) are not supported in rules files",
    ),
    ("number-key", "version: 1\n1: x\n" + RULE, "2:1: a key must be a name, found '1'"),
    ("list-key", "version: 1\n? [a]\n: x\n" + RULE, "2:3: a key must be a name, found a list"),
    ("merge-key", "version: 1\n<<: {a: 1}\n" + RULE, "2:1: a key must be a name, found '<<'"),
    (
        "nul-char",
        "version: 1\n\x00\n" + RULE,
        "2:1: character '\\x00' is not allowed in a YAML file",
    ),
    (
        "bad-int-tag",
        "version: !!int abc\n" + RULE,
        "1:10: 'abc' is not a valid whole number",
    ),
    ("bad-bool-tag", "version: !!bool maybe\n" + RULE, "1:10: 'maybe' is not a valid boolean"),
    (
        "huge-int",
        "version: " + "9" * 5000 + "\n" + RULE,
        "1:10: '" + "9" * 57 + "...' is not a valid whole number",
    ),
    (
        "too-deep",
        "version: 1\nx: " + "[" * 60 + "]" * 60 + "\n" + RULE,
        "2:53: nested deeper than 50 levels",
    ),
    # rules
    ("no-id", "version: 1\nrules:\n  - check: sequences\n", "3:5: a rule needs 'id'"),
    ("no-check", "version: 1\nrules:\n  - id: x\n", "3:5: a rule needs 'check'"),
    (
        "misspelt-check-key",
        "version: 1\nrules:\n  - id: x\n    chek: sequences\n",
        "4:5: unknown key 'chek'",
    ),
    (
        "unknown-check",
        "version: 1\nrules:\n  - {id: x, check: sequence}\n",
        "3:20: unknown check 'sequence'",
    ),
    (
        "bad-severity",
        "version: 1\nrules:\n  - {id: x, check: sequences, severity: fatal}\n",
        "3:41: severity must be error or warn, not 'fatal'",
    ),
    (
        "unknown-rule-key",
        "version: 1\nrules:\n  - {id: x, check: sequences, table: t}\n",
        "3:31: unknown key 'table' for check 'sequences'",
    ),
    (
        "duplicate-id",
        "version: 1\nrules:\n  - {id: x, check: sequences}\n  - {id: x, check: references}\n",
        "4:5: duplicate rule id 'x' (first on line 3)",
    ),
    (
        "null-id",
        "version: 1\nrules:\n  - {id: ~, check: sequences}\n",
        "3:10: id: expected a rule id, found nothing (null)",
    ),
    (
        "empty-id",
        "version: 1\nrules:\n  - {id: '  ', check: sequences}\n",
        "3:10: id: expected a rule id, found an empty text",
    ),
    (
        "list-id",
        "version: 1\nrules:\n  - {id: [a], check: sequences}\n",
        "3:10: id: expected a single value, found a list",
    ),
    (
        "mapping-description",
        "version: 1\nrules:\n  - {id: a, check: sequences, description: {}}\n",
        "3:44: description: expected a single value, found a mapping",
    ),
    # schemas and exclude
    (
        "schemas-text",
        "version: 1\nschemas: public\n" + RULE,
        "2:10: schemas: expected a list of schema names, found the text 'public'",
    ),
    (
        "schemas-mapping",
        "version: 1\nschemas: {public: 1}\n" + RULE,
        "2:10: schemas: expected a list of schema names, found a mapping",
    ),
    ("schemas-empty", "version: 1\nschemas: []\n" + RULE, "2:10: schemas: the list is empty"),
    (
        "schema-two-words",
        "version: 1\nschemas: [bad name]\n" + RULE,
        "2:15: schemas: 'bad name' is not a schema name: unexpected 'n'",
    ),
    (
        "schema-number",
        "version: 1\nschemas: [1]\n" + RULE,
        "2:11: schemas: '1' is not a schema name: expected a name",
    ),
    (
        "schema-null",
        "version: 1\nschemas: [~]\n" + RULE,
        "2:11: schemas: expected a schema name, found nothing (null)",
    ),
    (
        "exclude-mapping-entry",
        "version: 1\nexclude: [{a: b}]\n" + RULE,
        "2:11: exclude: expected a single value, found a mapping",
    ),
    (
        "exclude-text",
        "version: 1\nexclude: public.audit\n" + RULE,
        "2:10: exclude: expected a list of schema.table patterns, found the text 'public.audit'",
    ),
    (
        "exclude-never-matches",
        "version: 1\nexclude: [audit_log]\n" + RULE,
        "2:11: exclude: pattern 'audit_log' can never match: patterns apply to schema.table",
    ),
    # references
    (
        "references-mapping",
        "version: 1\nreferences: {from: a(b), to: c(d)}\n" + RULE,
        "2:13: references: expected a list of references (from: ..., to: ...), found a mapping",
    ),
    (
        "reference-without-to",
        "version: 1\nreferences:\n  - from: a(b)\n" + RULE,
        "3:5: a reference needs 'to'",
    ),
    (
        "reference-unknown-key",
        "version: 1\nreferences:\n  - {from: a(b), to: c(d), form: x}\n" + RULE,
        "3:28: unknown key 'form' in a reference",
    ),
    (
        "reference-column-counts",
        "version: 1\nreferences:\n  - from: a(b, c)\n    to: d(e)\n" + RULE,
        "3:5: 'from' names 2 columns but 'to' names 1",
    ),
    (
        "reference-no-parenthesis",
        "version: 1\nreferences:\n  - {from: journals user_id, to: d(e)}\n" + RULE,
        "3:21: from: malformed reference 'journals user_id': expected '(', found 'u'",
    ),
    (
        "reference-quoted-scalar",
        "version: 1\nreferences:\n  - {from: 'a(\"b)', to: d(e)}\n" + RULE,
        "3:15: from: malformed reference 'a(\"b)': unterminated quoted name",
    ),
    (
        "reference-escaped-scalar",  # the file does not show the value verbatim: the value's start
        'version: 1\nreferences:\n  - {from: "a(\\"b)", to: d(e)}\n' + RULE,
        "3:12: from: malformed reference 'a(\"b)': unterminated quoted name",
    ),
    (
        "reference-folded-scalar",
        "version: 1\nreferences:\n  - from: >\n      a(b\n    to: d(e)\n" + RULE,
        "3:11: from: malformed reference 'a(b\\n': expected ')', found end of text",
    ),
    (
        "reference-repeats-column",
        "version: 1\nreferences:\n  - {from: 'a(b, B)', to: 'd(e, f)'}\n" + RULE,
        "3:18: from: malformed reference 'a(b, B)': column b is listed twice",
    ),
    (
        "reference-number",
        "version: 1\nreferences:\n  - {from: 5, to: d(e)}\n" + RULE,
        "3:12: from: malformed reference '5': expected a name",
    ),
    (
        "reference-unquoted-comma",
        "version: 1\nreferences:\n  - {from: a(b, c), to: 'd(e, f)'}\n" + RULE,
        "3:17: unknown key 'c)' in a reference",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=name) for name, t, e in MISTAKES]
)
def test_mistakes_point_at_their_position(text, expected):
    error = error_of(text)
    assert first_line(error) == f"r.yaml:{expected}"
    assert (error.path, f"{error.line}:{error.col}") == ("r.yaml", expected.split(": ")[0])


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("version: 1\nrules:\n  - {id: x, check: refrences}\n", "did you mean 'references'?"),
        ("version: 1\nrules:\n  - {id: x, check: sequences, severty: warn}\n", "severity'?"),
        ("version: 1\nexlude: []\n" + RULE, "did you mean 'exclude'?"),
        ("version: 1\nrules:\n  - id: x\n    chek: sequences\n", "did you mean 'check'?"),
        ("version: 1\nrules:\n  - {id: x, check: sequences, severity: warning}\n", "'warn'?"),
        ("version: 1\nrules:\n  - {id: x, check: sequences, table: t}\n", "'tables'?"),
        ("version: 1\nreferences:\n  - {from: a(b), to: c(d), form: x}\n" + RULE, "'from'?"),
        ("version: 1\nrules:\n  - {id: x, check: vacuum}\n", "the checks are: "),
        ("version: 2\n" + RULE, "write `version: 1`"),
        ("version: 1\nschemas: public\n" + RULE, "write schemas: [public]"),
        ("version: 1\nexclude: [audit_log]\n" + RULE, "'public.audit_log' or '*.audit_log'"),
        ("version: 1\nrules:\n  - {id: x, check: sequences, headroom: 2}\n", None),
        ("version: 1\nrules:\n  - {id: x, check: sequences, description: !!int a}\n", "quote"),
        (
            "version: 1\nreferences:\n  - {from: a(b, c), to: 'd(e, f)'}\n" + RULE,
            "inside { } a comma ends the value: quote it, e.g. {from: 'a(b, c)', to: ...}",
        ),
    ],
)
def test_hints_say_what_to_do(text, hint):
    error = error_of(text)
    if hint is None:
        assert error.hint is None
    else:
        assert error.hint is not None and hint in error.hint, str(error)


def test_every_check_is_offered_when_nothing_is_close():
    error = error_of("version: 1\nrules:\n  - {id: x, check: vacuum}\n")
    assert error.hint == f"the checks are: {', '.join(sorted(CHECKS))}"


def test_the_first_mistake_in_the_file_is_the_one_reported():
    text = "version: 1\nschemas: [~]\nrules:\n  - {id: x, check: nope}\n"
    assert (error_of(text).line, error_of(text.replace("[~]", "[ok]")).line) == (2, 4)


# --- a check's own parameters -------------------------------------------------------


class Probe:
    """A check used only here, with every kind of parameter the loader converts."""

    name: ClassVar[str] = "probe"

    @dataclass(frozen=True)
    class Params:
        table: str
        min: int | None = None
        columns: tuple[str, ...] = ()
        ratio: float = 0.5
        strict: bool = False
        extra: dict[str, Any] = field(default_factory=dict)
        tables: TableFilter = field(default_factory=TableFilter)
        derived: str = field(init=False, default="")

        def __post_init__(self) -> None:
            if self.min is not None and self.min < 0:
                raise ValueError(f"min cannot be negative, found {self.min}")
            if self.table == "forbidden":
                raise ValueError("that table is off limits")

    def run(self, ctx: Any, params: Any) -> Any:
        raise NotImplementedError


@pytest.fixture
def probe(monkeypatch):
    monkeypatch.setitem(CHECKS, "probe", Probe)
    return Probe.Params


def probe_rule(body: str) -> str:
    return f"version: 1\nrules:\n  - {{id: p, check: probe, {body}}}\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("table: t", {}),
        ("table: t, min: 5", {"min": 5}),
        ("table: t, min: ~", {"min": None}),
        ("table: t, min: 0", {"min": 0}),
        ("table: t, columns: [a, b]", {"columns": ("a", "b")}),
        ("table: t, columns: []", {"columns": ()}),
        ("table: t, columns: [1, 2024-01-01]", {"columns": ("1", "2024-01-01")}),
        ("table: t, ratio: 1", {"ratio": 1.0}),
        ("table: t, ratio: 0.25", {"ratio": 0.25}),
        ("table: t, strict: true", {"strict": True}),
        ("table: t, extra: {a: [1, {b: c}], d: ~}", {"extra": {"a": [1, {"b": "c"}], "d": None}}),
        ("table: t, tables: ['public.*']", {"tables": TableFilter(include=("public.*",))}),
        (
            "table: t, tables: {exclude: [public.x]}",
            {"tables": TableFilter(exclude=("public.x",))},
        ),
        ("table: 42", {"table": "42"}),
    ],
)
def test_parameters_convert_by_their_annotation(probe, body, expected):
    [rule] = load_rules_text(probe_rule(body), "r.yaml").rules
    assert rule.params == probe(**{"table": "t", **expected})
    assert type(rule.params.ratio) is float


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("min: 1", "3:5: check 'probe' needs 'table'"),
        ("table: t, min: five", "3:42: min: expected a whole number, found the text 'five'"),
        ("table: t, min: true", "3:42: min: expected a whole number, found the boolean true"),
        ("table: t, min: 1.5", "3:42: min: expected a whole number, found the number 1.5"),
        ("table: t, ratio: yes", "3:44: ratio: expected a number, found the boolean true"),
        ("table: t, strict: 1", "3:45: strict: expected true or false, found the number 1"),
        ("table: t, strict: 'true'", "3:45: strict: expected true or false, found the text 'true'"),
        ("table: t, columns: a", "3:46: columns: expected a list, found the text 'a'"),
        ("table: t, columns: [[a]]", "3:47: columns: expected a single value, found a list"),
        ("table: t, columns: [~]", "3:47: columns: expected a text, found nothing (null)"),
        ("table: [t]", "3:34: table: expected a single value, found a list"),
        ("table: ~", "3:34: table: expected a text, found nothing (null)"),
        ("table: t, extra: [1]", "3:44: extra: expected a mapping, found a list"),
        ("table: t, tables: {includ: [a.b]}", "3:46: unknown key 'includ' in tables"),
        (
            "table: t, tables: [orders]",
            "3:46: tables: pattern 'orders' can never match: patterns apply to schema.table",
        ),
        ("table: t, min: -1", "3:42: min cannot be negative, found -1"),
        ("table: forbidden", "3:5: that table is off limits"),
        ("table: t, derived: x", "3:37: unknown key 'derived' for check 'probe'"),
        ("table: t, tabel: u", "3:37: unknown key 'tabel' for check 'probe'"),
    ],
)
def test_parameter_mistakes(probe, body, expected):
    assert first_line(error_of(probe_rule(body))) == f"r.yaml:{expected}"


def test_parameter_hints(probe, monkeypatch):
    assert error_of(probe_rule("table: t, tabel: u")).hint == "did you mean 'table'?"
    assert error_of(probe_rule("table: t, columns: a")).hint == "write columns: [a]"
    needs = error_of(probe_rule("min: 1")).hint
    assert needs == "check 'probe' takes: table, min, columns, ratio, strict, extra, tables"
    monkeypatch.setenv("RG_MIN", "5")
    error = error_of(probe_rule("table: t, min: '${RG_MIN}'"))
    assert "found the text '5'" in error.detail
    assert error.hint == "environment variables are substituted into text values only"


def test_every_registered_check_has_parameters_the_loader_can_fill(probe):
    for name, check in CHECKS.items():
        for key, spec in params_fields(params_class(check)).items():
            assert supported(spec.hint), f"{name}.Params.{key}: {spec.hint!r}"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (str, True),
        (int | None, True),
        (tuple[str, ...], True),
        (tuple[int | None, ...], True),
        (dict[str, Any], True),
        (TableFilter, True),
        (tuple[str, int], False),
        (int | str, False),
        (int | str | None, False),
        (dict[int, str], False),
        (list[str], False),
        (Literal["a"], False),
    ],
)
def test_supported_annotations(hint, expected):
    assert supported(hint) is expected


# --- environment variables ----------------------------------------------------------


def test_environment_variables_are_substituted_in_text(monkeypatch):
    monkeypatch.setenv("RG_SCHEMA", "billing")
    monkeypatch.setenv("RG_TABLE", "journals")
    text = (
        "version: 1\nschemas: ['${RG_SCHEMA}']\nexclude: ['$${RG_SCHEMA}.x', 'a$$b.*']\n"
        "references:\n  - {from: '${RG_SCHEMA}.${RG_TABLE}(id)', to: a(b)}\n"
        "rules:\n  - {id: '${RG_TABLE}', check: sequences}\n"
    )
    rules = load_rules_text(text, "r.yaml")
    assert rules.schemas == ("billing",)
    assert rules.exclude == ("${RG_SCHEMA}.x", "a$$b.*")
    assert str(rules.references[0].child) == "billing.journals(id)"
    assert rules.rules[0].id == "journals"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'${RG_UNSET}'", "2:12: environment variable RG_UNSET is not set"),
        ("'x.${RG_UNSET}'", "2:14: environment variable RG_UNSET is not set"),
        ("'${RG_SET}${RG_UNSET}'", "2:21: environment variable RG_UNSET is not set"),
        ("'${1X}'", "2:12: '${' must start an environment variable written ${NAME}"),
        ('"a${X"', "2:13: '${' must start an environment variable written ${NAME}"),
        ("'${}'", "2:12: '${' must start an environment variable written ${NAME}"),
    ],
)
def test_environment_variable_mistakes(monkeypatch, value, expected):
    monkeypatch.delenv("RG_UNSET", raising=False)
    monkeypatch.setenv("RG_SET", "x")
    text = f"version: 1\nschemas: [{value}]\n{RULE}"
    assert first_line(error_of(text)) == f"r.yaml:{expected}"


def test_keys_are_never_substituted(monkeypatch):
    monkeypatch.setenv("RG_KEY", "schemas")
    assert first_line(error_of("version: 1\n${RG_KEY}: [a]\n" + RULE)).endswith(
        "2:1: unknown key '${RG_KEY}'"
    )


# --- hostile input ------------------------------------------------------------------


def test_billion_laughs_is_refused_at_the_first_alias_without_expanding():
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
    started = time.perf_counter()
    error = error_of("\n".join(lines) + "\n" + RULE)
    assert time.perf_counter() - started < 2
    assert (error.line, error.col) == (3, 10)
    assert "aliases" in error.detail


def test_recursive_alias_is_refused():
    assert first_line(error_of("version: 1\nrules: &r [*r]\n")).startswith(
        "r.yaml:2:12: YAML alias"
    )


def test_nesting_bomb_is_refused_quickly():
    started = time.perf_counter()
    error = error_of("version: 1\nx: " + "[" * 200_000 + "\n")
    assert time.perf_counter() - started < 5
    assert "nested deeper" in error.detail


def test_a_megabyte_line_loads_or_fails_in_one_short_line():
    long = "q" * 1_000_000
    [rule] = load_rules_text(
        f"version: 1\nrules:\n  - {{id: s, check: sequences, description: {long}}}\n", "r"
    ).rules
    assert rule.description == long
    for text in (
        f"version: 1\nrules:\n  - {{id: s, check: {long}}}\n",
        f"version: 1\n{long}: 1\n{RULE}",
        f"version: 1\n? {long}\n: 1\n{RULE}",
        f"version: 1\nexclude: ['{long}']\n{RULE}",
    ):
        error = error_of(text)
        assert len(str(error)) < 300, str(error)[:300]


def test_files_that_cannot_be_read(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("version: 1\n# café\n".encode("latin-1"))
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(range(256)) * 4)
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_text("version: 1\n", encoding="utf-16")
    for path, expected in [
        (tmp_path / "missing.yaml", "1:1: cannot read the rules file: No such file or directory"),
        (tmp_path, "1:1: cannot read the rules file: Is a directory"),
        (f"{tmp_path}/a\0b", "1:1: cannot read the rules file: embedded null byte"),
        (latin1, "2:6: the rules file is not UTF-8 text: byte 0xe9 cannot be decoded"),
        (garbage, "2:118: the rules file is not UTF-8 text: byte 0x80 cannot be decoded"),
        (utf16, "1:1: the rules file is not UTF-8 text: byte 0xff cannot be decoded"),
    ]:
        with pytest.raises(RulesError) as caught:
            load_rules_files([path])
        assert first_line(caught.value) == f"{path}:{expected}"


def test_a_file_too_large_to_be_rules_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(rules_loader, "MAX_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n" + "# padding\n" * 20 + RULE)
    with pytest.raises(RulesError, match="larger than"):
        load_rules_files([big])


def _traced_events(text: str) -> int:
    """Python-level work of loading ``text``: every call, line and return event."""
    events = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal events
        events += 1
        return tracer

    sys.settrace(tracer)
    try:
        load_rules_text(text, "r")
    finally:
        sys.settrace(None)
    return events


def test_many_rules_load_in_linear_work():
    """Four times the rules, at most about four times the work: counted, not timed (the
    wall time of 20,000 rules is ``python -m benchmarks rules``)."""

    def rules(n: int) -> str:
        return "version: 1\nrules:\n" + "".join(
            f"  - {{id: r{i}, check: sequences}}\n" for i in range(n)
        )

    load_rules_text(rules(10), "r")  # warm-up: imports, compiled patterns, caches
    few, many = _traced_events(rules(200)), _traced_events(rules(800))
    assert many <= 4.2 * few, f"200 rules: {few:,} events; 800 rules: {many:,}"


# --- several files ------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_several_files_merge(tmp_path):
    a = write(
        tmp_path, "a.yaml", "version: 1\nexclude: [a.x]\nrules:\n  - {id: s, check: sequences}\n"
    )
    b = write(
        tmp_path,
        "b.yaml",
        "version: 1\nschemas: [app, billing]\nexclude: [b.y]\n"
        "references:\n  - {from: a(b), to: c(d)}\nrules:\n  - {id: r, check: references}\n",
    )
    c = write(
        tmp_path,
        "c.yaml",
        "version: 1\nschemas: [audit, app]\nrules:\n  - {id: t, check: sequences}\n",
    )
    merged = load_rules_files([a, b, c])
    assert [r.id for r in merged.rules] == ["s", "r", "t"]
    assert [r.position.path for r in merged.rules] == [str(a), str(b), str(c)]
    assert merged.schemas == ("app", "billing", "audit")
    assert merged.exclude == ("a.x", "b.y")
    assert [str(r.parent) for r in merged.references] == ["public.c(d)"]
    assert merged.sources == (str(a), str(b), str(c))
    assert load_rules_files([a]).schemas is None


def test_a_rule_id_used_in_two_files_points_at_the_second(tmp_path):
    a = write(tmp_path, "a.yaml", "version: 1\nrules:\n  - {id: s, check: sequences}\n")
    b = write(
        tmp_path,
        "b.yaml",
        "version: 1\nrules:\n  - {id: t, check: sequences}\n  - {id: s, check: references}\n",
    )
    with pytest.raises(RulesError) as caught:
        load_rules_files([a, b])
    assert first_line(caught.value) == f"{b}:4:5: duplicate rule id 's': already used at {a}:3:5"


def test_the_first_bad_file_stops_the_merge(tmp_path):
    good = write(tmp_path, "good.yaml", "version: 1\n" + RULE)
    bad = write(tmp_path, "bad.yaml", "version: 1\nrules: []\n")
    with pytest.raises(RulesError) as caught:
        load_rules_files([good, bad, tmp_path / "missing.yaml"])
    assert caught.value.path == str(bad)


# --- lint ---------------------------------------------------------------------------


def test_lint_reports_the_first_error_of_each_bad_file(tmp_path):
    good = write(tmp_path, "good.yaml", "version: 1\n" + RULE)
    bad = write(tmp_path, "bad.yaml", "version: 1\nrulez: []\nrules: []\n")
    missing = tmp_path / "missing.yaml"
    assert lint([str(good), str(good)]) == []  # each file alone: the same ids twice are fine
    problems = lint([str(good), str(bad), str(missing)])
    assert [first_line(p) for p in problems] == [
        f"{bad}:2:1: unknown key 'rulez'",
        f"{missing}:1:1: cannot read the rules file: No such file or directory",
    ]


def test_the_shipped_files_lint_clean():
    assert lint([str(REPO / "rules/default.yaml"), str(REPO / "rules/examples/dayone.yaml")]) == []
