"""The engine registry and the shared defaults, without a server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from restoregate import api
from restoregate.cli import cli
from restoregate.engines import ENGINES, engine_for, scheme
from restoregate.engines.base import Answerer, Inventory, KeyRange
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.names import QualifiedName


@pytest.mark.parametrize(
    ("dsn", "package"),
    [
        ("postgresql://app@db/prod", "restoregate.engines.postgres"),
        ("postgres://app@db/prod", "restoregate.engines.postgres"),
        ("host=db dbname=prod user=app", "restoregate.engines.postgres"),
        (None, "restoregate.engines.postgres"),
        ("mysql://app:pw@db:3306/shop", "restoregate.engines.mysql"),
        ("MariaDB://app@db/shop", "restoregate.engines.mysql"),
        ("sqlite:///app.db", "restoregate.engines.sqlite"),
    ],
)
def test_the_scheme_chooses_the_engine(dsn, package):
    assert engine_for(dsn).__name__ == package
    assert ENGINES[scheme(dsn)] == package


def test_an_unknown_scheme_is_a_usage_error_without_the_password():
    with pytest.raises(UsageError) as caught:
        engine_for("oracle://scott:tiger-pw@db/orcl")
    assert "oracle://" in caught.value.message and "tiger-pw" not in str(caught.value)
    result = CliRunner().invoke(cli, ["check", "--dsn", "oracle://scott:tiger-pw@db/orcl"])
    assert result.exit_code == 2 and "tiger-pw" not in result.output


def test_a_mysql_dsn_needs_a_database_and_never_shows_the_password():
    result = CliRunner().invoke(cli, ["check", "--dsn", "mysql://app:s3cr3t@127.0.0.1:3306"])
    assert result.exit_code == 2
    assert "s3cr3t" not in result.output and "name the database" in result.output
    from restoregate.engines.mysql import describe_dsn

    assert describe_dsn("mysql://app:s3cr3t@db:3307/shop") == "mysql://app@db:3307/shop"


def test_the_default_schema_follows_the_engine(tmp_path):
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "version: 1\nreferences:\n  - {from: journals(user_id), to: accounts(id)}\n"
        "rules:\n  - {id: references, check: references}\n"
    )
    for dsn, schema in (
        ("postgresql:///x", "public"),
        ("mysql://u@h/shop", "shop"),
        ("sqlite:///a.db", "main"),
    ):
        loaded = api.load_rules([rules], dsn)
        assert loaded.references[0].child.table == QualifiedName(schema, "journals")


class Partial(Answerer):
    name = "toyengine"

    def answer_inventory(self, request: Inventory) -> list[tuple[str, str, str | None]]:
        return [("table", "main.t", None)]


def test_an_unsupported_request_fails_closed_naming_the_engine():
    engine = Partial()
    assert engine.answers(Inventory) and not engine.answers(KeyRange)
    inventory, key_range = engine.answer([Inventory(), KeyRange(QualifiedName("s", "t"), "id")])
    assert inventory == [("table", "main.t", None)]
    assert isinstance(key_range, CheckFailedToRun)
    assert key_range.message == "reading key ranges: not supported on toyengine"


def test_rules_lint_parses_sql_as_the_engine_given(tmp_path):
    rules = tmp_path / "shop.yaml"
    rules.write_text("version: 1\nrules:\n  - {id: q, check: sql, sql: 'SELECT `id` FROM `t`'}\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["rules", "lint", str(rules)]).exit_code == 2
    assert runner.invoke(cli, ["rules", "lint", "--engine", "mysql", str(rules)]).exit_code == 0
    rules.write_text("version: 1\nrules:\n  - {id: q, check: sql, sql: 'SELECT SLEEP(1)'}\n")
    result = runner.invoke(cli, ["rules", "lint", "--engine", "mysql", str(rules)])
    assert result.exit_code == 2 and "sleep() is not allowed on MySQL" in result.output
