"""Rules files: every mistake is one FILE:LINE:COL line (exit 2), never a traceback."""

from __future__ import annotations

import pytest

from restoregate.errors import RulesError
from restoregate.names import ColumnSet, QualifiedName
from restoregate.rules_loader import (
    default_rules,
    example_rules,
    lint,
    load_rules_files,
    load_rules_text,
)

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
    description: keys stay ahead
  - {id: refs, check: references, severity: warn}
"""


def test_a_good_file_becomes_the_model():
    rules = load_rules_text(GOOD, "r.yaml")
    assert rules.schemas == ("public", "Sales Data")
    assert rules.exclude == ("public.audit_*",)
    [ref] = rules.references
    assert ref.child == ColumnSet(QualifiedName("public", "journals"), ("user_id",))
    assert ref.parent == ColumnSet(QualifiedName("Sales Data", "Order"), ("Id",))
    assert (ref.position.line, ref.child_position.line, ref.parent_position.line) == (5, 5, 6)
    seq, refs = rules.rules
    assert (seq.id, seq.check, seq.severity, seq.description) == (
        "seq",
        "sequences",
        "error",
        "keys stay ahead",
    )
    assert (refs.severity, refs.description, refs.position.line) == ("warn", None, 11)


def test_shipped_files_load():
    assert [r.id for r in default_rules().rules] == [
        "sequences",
        "references",
        "suspected-references",
    ]
    assert len(example_rules("dayone").references) == 1


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("", 1, 1, "the rules file is empty"),
        ("version: 1\nrules: [}\n", 2, 9, "invalid YAML"),
        ("- 1\n", 1, 1, "a rules file must be a mapping"),
        ("rules: []\n", 1, 1, "missing key 'version'"),
        ("version: 2\nrules: []\n", 1, 10, "unsupported version 2"),
        ("version: true\nrules: []\n", 1, 10, "unsupported version True"),
        ("version: 1\n", 1, 1, "missing key 'rules'"),
        ("version: 1\nrules: []\n", 2, 8, "no rules"),
        ("version: 1\nrulez: []\nrules: []\n", 2, 1, "unknown key 'rulez'"),
        ("version: 1\nrules:\n  - check: sequences\n", 3, 5, "a rule needs 'id'"),
        ("version: 1\nrules:\n  - id: x\n", 3, 5, "a rule needs 'check'"),
        ("version: 1\nrules:\n  - {id: x, check: sequence}\n", 3, 20, "unknown check 'sequence'"),
        (
            "version: 1\nrules:\n  - {id: x, check: sequences, severity: fatal}\n",
            3,
            41,
            "severity must be error or warn",
        ),
        (
            "version: 1\nrules:\n  - {id: x, check: sequences, table: t}\n",
            3,
            31,
            "unknown key 'table' for check 'sequences'",
        ),
        (
            "version: 1\nrules:\n  - {id: x, check: sequences}\n  - {id: x, check: references}\n",
            4,
            5,
            "duplicate rule id 'x' (first on line 3)",
        ),
        ("version: 1\nversion: 1\nrules: []\n", 2, 1, "duplicate key 'version' (first on line 1)"),
        ("version: 1\nschemas: public\nrules: []\n", 2, 10, "schemas must be a list"),
        ("version: 1\nschemas: [1]\nrules: []\n", 2, 11, "each schema must be a non-empty string"),
        ("version: 1\nexclude: [{a: b}]\nrules: []\n", 2, 11, "expected a single value"),
        ("version: 1\nreferences:\n  - from: a(b)\nrules: []\n", 3, 5, "a reference needs 'to'"),
        (
            "version: 1\nreferences:\n  - {from: a(b), to: c(d), via: x}\nrules: []\n",
            3,
            28,
            "unknown key 'via' in a reference",
        ),
        (
            "version: 1\nreferences:\n  - from: a(b, c)\n    to: d(e)\nrules: []\n",
            3,
            5,
            "'from' names 2 columns but 'to' names 1",
        ),
        (
            "version: 1\nreferences:\n  - {from: journals user_id, to: d(e)}\nrules: []\n",
            3,
            21,
            "malformed reference 'journals user_id'",
        ),
        (
            "version: 1\nreferences:\n  - {from: 'a(\"b)', to: d(e)}\nrules: []\n",
            3,
            12,
            "unterminated quoted name",
        ),
        ("version: 1\nrules: !!python/object:os.system {}\n", 2, 8, "unsupported YAML tag"),
        (
            "version: 1\nx: &a [1]\ny: *a\nrules: []\n",
            2,
            4,
            "anchors and aliases are not supported",
        ),
        ("version: 1\n1: x\nrules: []\n", 2, 1, "keys must be plain names"),
        ("version: 1\n---\nversion: 1\n", 3, 1, "one YAML document"),
    ],
)
def test_mistakes_point_at_their_position(text, line, col, message):
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    error = caught.value
    assert message in error.detail
    assert (error.path, error.line, error.col) == ("r.yaml", line, col), str(error)
    assert str(error).startswith(f"r.yaml:{line}:{col}: ")


def test_did_you_mean():
    with pytest.raises(RulesError) as caught:
        load_rules_text("version: 1\nrules:\n  - {id: x, check: refrences}\n", "r.yaml")
    assert caught.value.hint == "did you mean 'references'?"
    with pytest.raises(RulesError) as caught:
        load_rules_text("version: 1\nrules:\n  - {id: x, check: sequences, severty: warn}\n", "r")
    assert caught.value.hint == "did you mean 'severity'?"
    with pytest.raises(RulesError) as caught:
        load_rules_text("version: 1\nexlude: []\nrules: []\n", "r")
    assert caught.value.hint == "did you mean 'exclude'?"


def test_billion_laughs_is_refused_without_expanding():
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    with pytest.raises(RulesError, match="anchors and aliases"):
        load_rules_text("\n".join(lines) + "\nrules: []\n", "bomb.yaml")


def test_recursive_alias_is_refused():
    with pytest.raises(RulesError, match="anchors and aliases"):
        load_rules_text("version: 1\nrules: &r [*r]\n", "loop.yaml")


def test_environment_substitution(monkeypatch):
    monkeypatch.setenv("APP_SCHEMA", "billing")
    text = (
        "version: 1\nschemas: ['${APP_SCHEMA}']\nexclude: ['$${literal}']\n"
        "rules:\n  - {id: s, check: sequences}\n"
    )
    rules = load_rules_text(text, "r.yaml")
    assert rules.schemas == ("billing",)
    assert rules.exclude == ("${literal}",)
    monkeypatch.delenv("APP_SCHEMA")
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert (caught.value.line, caught.value.col) == (2, 11)
    assert "environment variable APP_SCHEMA is not set" in caught.value.detail


def test_files_that_cannot_be_read(tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"version: 1\n\xff\xfe\x00")
    for path, message in [
        (tmp_path / "missing.yaml", "cannot read the rules file: No such file or directory"),
        (tmp_path, "cannot read the rules file: Is a directory"),
        (binary, "not UTF-8 text"),
    ]:
        with pytest.raises(RulesError) as caught:
            load_rules_files([path])
        assert message in caught.value.detail
        assert (caught.value.line, caught.value.col) == (1, 1)


def test_several_files_merge(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("version: 1\nschemas: [app]\nrules:\n  - {id: s, check: sequences}\n")
    b = tmp_path / "b.yaml"
    b.write_text(
        "version: 1\nschemas: [app, billing]\nreferences:\n  - {from: a(b), to: c(d)}\n"
        "rules:\n  - {id: r, check: references}\n"
    )
    merged = load_rules_files([a, b])
    assert [r.id for r in merged.rules] == ["s", "r"]
    assert merged.schemas == ("app", "billing")
    assert len(merged.references) == 1
    assert merged.sources == (str(a), str(b))
    with pytest.raises(RulesError) as caught:
        load_rules_files([a, a])
    assert f"duplicate rule id 's' (first at {a}:4:5)" in str(caught.value)


def test_lint_reports_the_first_error_of_each_bad_file(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nrules:\n  - {id: s, check: sequences}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules: []\n")
    assert lint([str(good)]) == []
    [problem] = lint([str(good), str(bad), str(good)])
    assert problem.path == str(bad)
