"""Built-in rules within reach of wheel users: `rules show`, and `init` starting from them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from restoregate.cli import cli
from restoregate.rules import builtin
from restoregate.rules.loader import default_rules, load_rules_text

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_rules_show_prints_the_defaults_and_names_the_others():
    result = run("rules", "show")
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "rules" / "default.yaml").read_text()
    assert "# built-in rules: default, dayone" in result.stderr


def test_rules_show_prints_an_example_that_lints():
    result = run("rules", "show", "dayone")
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "rules" / "examples" / "dayone.yaml").read_text()
    load_rules_text(result.stdout, "dayone.yaml")


def test_an_unknown_name_is_a_usage_error_listing_the_names():
    result = run("rules", "show", "../default")
    assert result.exit_code == 2
    assert "no built-in rules named '../default'" in result.stderr
    assert "built-in: default, dayone" in result.stderr


def _rules(ruleset):
    return [(r.id, r.check, r.severity, r.description, r.params) for r in ruleset.rules]


def test_init_writes_the_default_rules_plus_what_it_found(db):
    db.execute(
        "CREATE TABLE accounts (id serial PRIMARY KEY);"
        "CREATE TABLE journals (id serial PRIMARY KEY, account_id int);"
        "INSERT INTO accounts SELECT FROM generate_series(1, 50);"
        "INSERT INTO journals (account_id) SELECT g FROM generate_series(1, 50) g;"
    )
    result = run("init", "--dsn", db.dsn)
    assert result.exit_code == 0, result.output
    written = load_rules_text(result.stdout, "init.yaml")
    assert _rules(written) == _rules(default_rules())
    assert [str(r.child) for r in written.references] == ["public.journals(account_id)"]
    assert builtin.rules_section() in result.stdout, "the defaults verbatim, comments and all"
