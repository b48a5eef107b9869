"""What suspected references do to the gate: strong fails, weak warns, dismissed is quiet;
sequences nobody attaches; the sampling budget; logical references between text types."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from tests.gate import gate, logical, rule, violations

SUSPECTED = "version: 1\nrules:\n  - {id: s, check: suspected_references%s}\n"
DEFAULT_AND_SUSPECTED = (
    "version: 1\nrules:\n  - {id: references, check: references}\n"
    "  - {id: s, check: suspected_references}\n"
)

PLAIN_KEYS = """
CREATE TABLE products (product_id int PRIMARY KEY, name text);
CREATE TABLE order_lines (id serial PRIMARY KEY, product_id int, qty int);
INSERT INTO products SELECT g, 'p' FROM generate_series(1, 50) g;
INSERT INTO order_lines (product_id, qty) SELECT g % 50 + 1, 1 FROM generate_series(1, 400) g;
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_orphans_above_a_plain_keys_maximum_are_reassignable(db):
    """No sequence (Northwind, Chinook): the next max + 1 insert adopts them."""
    db.execute(PLAIN_KEYS + "INSERT INTO order_lines (product_id, qty) VALUES (51, 1), (52, 1);")
    [found] = violations(gate(db.dsn, SUSPECTED % ""), "s")
    assert (found["orphans"], found["reassignable"], found["parent_sequence"]) == (2, 2, None)
    assert found["strength"] == "strong"
    text = rule(gate(db.dsn, SUSPECTED % ""), "s").violations[0].describe()
    assert "the next max + 1 insert takes them" in text
    assert "Confirm it under references:" in text and "not_references:" in text


def test_weak_evidence_only_warns(db):
    """A name match but orphans far from any key the parent will hand out: a warning."""
    db.execute(
        PLAIN_KEYS + "INSERT INTO order_lines (product_id, qty) SELECT 5000 + g, 1 "
        "FROM generate_series(1, 100) g;"
    )
    report = gate(db.dsn, SUSPECTED % "")
    result = rule(report, "s")
    assert (result.status, result.violations) == ("warn", [])
    [weak] = [a.to_dict() for a in result.advisories]
    assert weak["strength"] == "weak" and weak["orphans"] == 100
    assert report.exit_code == 0


def test_not_references_dismisses_a_suspect(db, tmp_path):
    db.execute(PLAIN_KEYS + "INSERT INTO order_lines (product_id, qty) VALUES (51, 1);")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nnot_references:\n  - from: public.order_lines(product_id)\n"
        "    to: public.products(product_id)\nrules:\n  - {id: s, check: suspected_references}\n"
    )
    result = run("check", "--dsn", db.dsn, "--rules", str(rules), "--format", "json")
    assert result.exit_code == 0, result.output
    [s] = json.loads(result.stdout)["rules"]
    assert s["status"] == "pass" and s["message"] == "no undeclared references found"


def test_not_references_naming_what_does_not_exist_is_a_rules_error(db, tmp_path):
    db.execute(PLAIN_KEYS)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nnot_references:\n  - from: public.order_lines(product)\n"
        "    to: public.products(product_id)\nrules:\n  - {id: s, check: suspected_references}\n"
    )
    result = run("check", "--dsn", db.dsn, "--rules", str(rules))
    assert result.exit_code == 2
    assert f"{rules}:3:11: from: column public.order_lines.product does not exist" in result.output
    assert "did you mean product_id?" in result.output


def test_the_sampling_budget_is_kept_and_said(db, monkeypatch):
    """Each table is read once for all its candidate columns; the budget stops the rest."""
    db.execute(
        "".join(
            f"CREATE TABLE parent_{i} (id serial PRIMARY KEY);"
            f"INSERT INTO parent_{i} SELECT FROM generate_series(1, 30);"
            f"CREATE TABLE child_{i} (id serial PRIMARY KEY, parent_{i}_id int,"
            f" other_parent_{i}_id int);"
            f"INSERT INTO child_{i} (parent_{i}_id, other_parent_{i}_id) "
            "SELECT g % 30 + 1, g % 30 + 1 FROM generate_series(1, 100) g;"
            for i in range(6)
        )
    )
    from restoregate.engines.postgres.probes import PostgresEngine

    calls: list[str] = []
    real = PostgresEngine.answer_reference_sample

    def counted(self, request):  # a spy: the real query still runs
        calls.append(str(request.table))
        return real(self, request)

    monkeypatch.setattr(PostgresEngine, "answer_reference_sample", counted)
    result = rule(gate(db.dsn, SUSPECTED % ""), "s")
    assert sorted(calls) == [f"public.child_{i}" for i in range(6)], "one query per table"
    assert len(result.lists["intact_references"]) == 12
    calls.clear()
    result = rule(gate(db.dsn, SUSPECTED % ", budget_rows: 250"), "s")
    assert len(calls) == 3, "100 rows each: the third reaches 250"
    [unchecked] = result.unchecked
    assert unchecked.subject == "3 tables"
    assert "the sampling budget of 250 rows" in unchecked.reason


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        ("varchar(10)", "text"),
        ("text", "varchar(20)"),
        ("bpchar(5)", "bpchar(5)"),
        ("varchar(5)", "bpchar(5)"),
        ("uuid", "uuid"),
        ("smallint", "bigint"),
        ("int", "numeric"),
    ],
)
def test_logical_references_join_any_comparable_types(db, child, parent):
    value = "'00000000-0000-0000-0000-000000000001'" if child == "uuid" else "'1'"
    db.execute(f"""
        CREATE TABLE p (k {parent} PRIMARY KEY);
        CREATE TABLE c (id serial PRIMARY KEY, k {child});
        INSERT INTO p VALUES ({value});
        INSERT INTO c (k) VALUES ({value}), ({value.replace("1", "2")});
    """)
    report = gate(db.dsn, logical("public.c(k)", "public.p(k)"))
    [found] = violations(report, "references")
    assert found["orphans"] == 1


def test_text_against_uuid_is_refused_with_its_line(db):
    from restoregate.errors import RulesError

    db.execute("CREATE TABLE p (k uuid PRIMARY KEY); CREATE TABLE c (k text);")
    with pytest.raises(RulesError, match=r"public.c.k \(text\) cannot be compared"):
        gate(db.dsn, logical("public.c(k)", "public.p(k)"))


EVENTS = """
CREATE TABLE events (id bigserial PRIMARY KEY, stream_ordering bigint UNIQUE, body text);
CREATE SEQUENCE events_stream_seq;
CREATE SEQUENCE unused_seq;
CREATE SEQUENCE sent_seq;
SELECT setval('sent_seq', 40);
INSERT INTO events (stream_ordering, body)
  SELECT nextval('events_stream_seq'), 'e' FROM generate_series(1, 500);
ANALYZE;
"""


def test_a_sequence_only_the_application_calls(new_db, dump, restore, tmp_path, pg_server):
    """A restore that skipped its SEQUENCE SET hands out values events already holds."""
    source, target = new_db(), new_db()
    source.execute(EVENTS)
    archive = tmp_path / "db.dump"
    dump(source, archive, "-Fc")
    listing = pg_server.run_tool("pg_restore", ["-l", str(archive)]).stdout
    kept = [
        line for line in listing.splitlines() if "SEQUENCE SET public events_stream_seq" not in line
    ]
    (tmp_path / "list").write_text("\n".join(kept) + "\n")
    assert restore(archive, target, "-L", str(tmp_path / "list")).returncode == 0
    report = gate(target.dsn, "version: 1\nrules:\n  - {id: sequences, check: sequences}\n")
    result = rule(report, "sequences")
    assert result.lists["unattached_sequences"] == [
        "public.events_stream_seq",
        "public.sent_seq",
        "public.unused_seq",
    ]
    [behind] = [v.to_dict() for v in result.violations]
    assert (behind["sequence"], behind["max_value"]) == ("public.events_stream_seq", 500)
    assert behind["column"] == "public.events.stream_ordering"
    [never] = [a.to_dict() for a in result.advisories]
    assert never == {"kind": "sequence_never_called", "sequence": "public.unused_seq"}
    assert report.exit_code == 1
    assert (
        rule(
            gate(source.dsn, "version: 1\nrules:\n  - {id: q, check: sequences}\n"), "q"
        ).violations
        == []
    )


def test_the_seed_with_no_rules_file_from_the_command_line(new_db, dump, restore, tmp_path):
    db = new_db()
    db.execute("""
        CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
        CREATE TABLE journals (id bigserial PRIMARY KEY, user_id integer NOT NULL, body text);
        INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 200) g;
        INSERT INTO journals (user_id, body)
          SELECT a.id, 'x' FROM accounts a, generate_series(1, 3);
    """)
    dump(db, tmp_path / "accounts.dump", "-Fc", "-t", "accounts")
    db.execute("""
        INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(201, 306) g;
        INSERT INTO journals (user_id, body) SELECT a.id, 'x' FROM accounts a WHERE a.id > 200;
        DROP TABLE accounts;
    """)
    assert restore(tmp_path / "accounts.dump", db).returncode == 0
    result = run("check", "--dsn", db.dsn)
    assert result.exit_code == 1
    text = " ".join(result.stdout.split())  # as read, not as wrapped
    assert "public.journals(user_id) looks like a reference to public.accounts(id)" in text
    assert "106 rows point at no public.accounts(id) row, 106 of them reassignable" in text
    assert "public.accounts_id_seq will hand out 201 next, but public.journals.user_id" in text


def test_an_fk_on_a_partition_is_not_reported_again_on_its_parent(db):
    """The partition's FK reports its orphans; the parent's column is no suspect."""
    db.execute("""
        CREATE TABLE sensors (sensor_id int PRIMARY KEY);
        CREATE TABLE readings (sensor_id int, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE readings_a PARTITION OF readings
          FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
        INSERT INTO sensors SELECT generate_series(1, 40);
        INSERT INTO readings SELECT g % 40 + 1, date '2020-01-01' + g % 300
          FROM generate_series(1, 400) g;
        INSERT INTO readings VALUES (41, date '2020-02-01');
        ALTER TABLE readings_a ADD FOREIGN KEY (sensor_id) REFERENCES sensors NOT VALID;
    """)
    report = gate(db.dsn, DEFAULT_AND_SUSPECTED)
    [orphans] = violations(report, "references")
    assert orphans["reference"] == "public.readings_a(sensor_id) -> public.sensors(sensor_id)"
    assert rule(report, "s").violations == [] and rule(report, "s").advisories == []


def test_an_engine_without_table_samples_samples_column_by_column(db, monkeypatch):
    """MySQL or SQLite may answer only ValueSample: inference still runs, per column."""
    from restoregate.engines.postgres.sampling import SamplingAnswers

    monkeypatch.delattr(SamplingAnswers, "answer_reference_sample")
    db.execute(PLAIN_KEYS + "INSERT INTO order_lines (product_id, qty) VALUES (51, 1);")
    [found] = violations(gate(db.dsn, SUSPECTED % ""), "s")
    assert found["reference"] == "public.order_lines(product_id) -> public.products(product_id)"
    assert (found["orphans"], found["strength"]) == (1, "strong")
