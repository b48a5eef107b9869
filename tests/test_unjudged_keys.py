"""No key passes unjudged: sequences named by text, wrapped in functions, set by triggers.

Each scenario is restored the way restores go wrong: a custom-format dump restored
without its ``SEQUENCE SET`` entries, so the sequences start over while the rows keep
their keys. Whatever feeds the key, restoregate either judges the sequence behind it,
says the sequence is gone, or names the key as unchecked (warn, or fail on request).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from restoregate.cli import cli
from tests.gate import gate, rule, violations

SEQUENCES = "version: 1\nrules:\n  - {id: sequences, check: sequences}\n"


@pytest.fixture
def restored_behind(new_db, dump, restore, pg_server, tmp_path):
    """``restored_behind(setup_sql)`` -> a database restored without sequence positions."""

    def build(setup: str):
        source, target = new_db(), new_db()
        source.execute(setup)
        archive = tmp_path / f"{source.name}.dump"
        dump(source, archive, "-Fc")
        listing = pg_server.run_tool("pg_restore", ["-l", str(archive)]).stdout
        kept = tmp_path / f"{source.name}.list"
        kept.write_text("\n".join(x for x in listing.splitlines() if "SEQUENCE SET" not in x))
        result = restore(archive, target, "-L", str(kept))
        assert result.returncode == 0, result.stderr
        return target

    return build


def test_plpgsql_wrapper_default_is_followed_to_its_sequence(restored_behind):
    target = restored_behind("""
        CREATE SEQUENCE ids;
        CREATE FUNCTION next_id() RETURNS bigint LANGUAGE plpgsql AS
          $$ BEGIN RETURN nextval('ids'); END $$;
        CREATE TABLE items (id bigint PRIMARY KEY DEFAULT next_id(), name text);
        INSERT INTO items (name) SELECT 'i' || g FROM generate_series(1, 40) g;
    """)
    [found] = violations(gate(target.dsn, SEQUENCES), "sequences")
    assert found["kind"] == "sequence_behind"
    assert (found["sequence"], found["column"], found["max_value"]) == (
        "public.ids",
        "public.items.id",
        40,
    )


def test_sql_wrapper_default_is_followed(restored_behind):
    target = restored_behind("""
        CREATE SCHEMA app;
        CREATE SEQUENCE app.ids;
        CREATE FUNCTION app.next_id() RETURNS bigint LANGUAGE sql
          AS 'SELECT nextval(''app.ids'')';
        CREATE TABLE app.items (id bigint PRIMARY KEY DEFAULT app.next_id());
        INSERT INTO app.items SELECT FROM generate_series(1, 12);
    """)
    rules = SEQUENCES.replace("version: 1\n", "version: 1\nschemas: [app]\n")
    [found] = violations(gate(target.dsn, rules), "sequences")
    assert (found["sequence"], found["max_value"]) == ("app.ids", 12)


def test_trigger_that_assigns_nextval_is_followed(restored_behind):
    target = restored_behind("""
        CREATE SEQUENCE orders_seq;
        CREATE TABLE orders (id bigint PRIMARY KEY, note text);
        CREATE FUNCTION orders_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          -- the id comes from the sequence, Oracle style
          NEW.id := nextval('orders_seq');
          RETURN NEW;
        END $$;
        CREATE TRIGGER orders_bi BEFORE INSERT ON orders
          FOR EACH ROW EXECUTE FUNCTION orders_id();
        INSERT INTO orders (note) SELECT 'n' FROM generate_series(1, 25);
    """)
    [found] = violations(gate(target.dsn, SEQUENCES), "sequences")
    assert (found["sequence"], found["column"], found["max_value"]) == (
        "public.orders_seq",
        "public.orders.id",
        25,
    )


def test_wrapper_restored_with_its_sequence_in_place_passes(new_db, dump, restore, tmp_path):
    source, target = new_db(), new_db()
    source.execute("""
        CREATE SEQUENCE ids;
        CREATE FUNCTION next_id() RETURNS bigint LANGUAGE plpgsql AS
          $$ BEGIN RETURN nextval('ids'); END $$;
        CREATE TABLE items (id bigint PRIMARY KEY DEFAULT next_id());
        INSERT INTO items SELECT FROM generate_series(1, 40);
    """)
    dump(source, tmp_path / "full.dump", "-Fc")
    assert restore(tmp_path / "full.dump", target).returncode == 0
    result = rule(gate(target.dsn, SEQUENCES), "sequences")
    assert result.status == "pass", result.message
    assert result.unchecked == []


def test_default_naming_a_sequence_that_no_longer_exists_fails(db):
    db.execute("""
        CREATE SEQUENCE gone;
        CREATE TABLE t (id int PRIMARY KEY DEFAULT nextval('gone'::text));
        INSERT INTO t VALUES (1);
        DROP SEQUENCE gone;
    """)
    report = gate(db.dsn, SEQUENCES)
    [found] = violations(report, "sequences")
    assert found["kind"] == "sequence_missing"
    assert (found["sequence"], found["column"]) == ("public.gone", "public.t.id")
    assert not report.passed
    assert "does not exist" in rule(report, "sequences").message


def test_wrapper_naming_a_missing_sequence_fails(db):
    db.execute("""
        CREATE FUNCTION next_id() RETURNS bigint LANGUAGE plpgsql AS
          $$ BEGIN RETURN nextval('never_restored'); END $$;
        CREATE TABLE t (id bigint PRIMARY KEY DEFAULT next_id());
    """)
    [found] = violations(gate(db.dsn, SEQUENCES), "sequences")
    assert found["kind"] == "sequence_missing"
    assert found["sequence"] == "public.never_restored"
    assert "public.next_id()" in found["via"]


def test_late_bound_name_on_another_schema_is_unchecked_not_missing(db):
    db.execute("""
        CREATE SCHEMA elsewhere;
        CREATE SEQUENCE elsewhere.counter;
        CREATE TABLE t (id int PRIMARY KEY DEFAULT nextval('counter'::text));
    """)
    result = rule(gate(db.dsn, SEQUENCES), "sequences")
    assert result.violations == []
    assert result.status == "warn"
    [unchecked] = result.unchecked
    assert unchecked.subject == "public.t.id"


@pytest.mark.parametrize(
    "body",
    [
        "BEGIN RETURN nextval('ids') * 10; END",  # transforms the value
        "BEGIN RETURN (SELECT coalesce(max(id), 0) + 1 FROM public.t); END",  # max + 1
        "BEGIN RETURN nextval('ids') + nextval('ids'); END",  # two calls
    ],
)
def test_wrapper_that_cannot_be_followed_is_unchecked_and_warns(db, body):
    db.execute(f"""
        CREATE SEQUENCE ids;
        CREATE TABLE t (id bigint PRIMARY KEY);
        CREATE FUNCTION next_id() RETURNS bigint LANGUAGE plpgsql AS $${body}$$;
        ALTER TABLE t ALTER COLUMN id SET DEFAULT next_id();
        INSERT INTO t VALUES (1), (2);
    """)
    report = gate(db.dsn, SEQUENCES)
    result = rule(report, "sequences")
    assert result.status == "warn", result.message
    assert report.exit_code == 0, "a warning leaves the gate open"
    [unchecked] = result.unchecked
    assert unchecked.subject == "public.t.id"
    assert "public.next_id()" in unchecked.reason
    assert "unchecked" in result.message


def test_untraceable_trigger_on_a_key_is_unchecked_and_can_fail_the_rule(db):
    db.execute("""
        CREATE TABLE t (id int PRIMARY KEY, note text);
        CREATE FUNCTION set_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          SELECT coalesce(max(id), 0) + 1 INTO NEW.id FROM t;
          RETURN NEW;
        END $$;
        CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION set_id();
    """)
    result = rule(gate(db.dsn, SEQUENCES), "sequences")
    assert result.status == "warn"
    [unchecked] = result.unchecked
    assert unchecked.subject == "public.t.id"
    assert "trigger t_bi" in unchecked.reason
    strict = SEQUENCES.replace("check: sequences}", "check: sequences, unchecked: fail}")
    report = gate(db.dsn, strict)
    assert rule(report, "sequences").status == "fail"
    assert not report.passed


def test_function_defaults_on_non_key_columns_are_not_keys(db):
    db.execute("""
        CREATE FUNCTION stamp() RETURNS timestamptz LANGUAGE sql AS 'SELECT now()';
        CREATE TABLE t (id serial PRIMARY KEY, created timestamptz DEFAULT stamp());
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN NEW.created := now(); RETURN NEW; END $$;
        CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
        INSERT INTO t DEFAULT VALUES;
    """)
    result = rule(gate(db.dsn, SEQUENCES), "sequences")
    assert result.status == "pass", (result.message, result.unchecked)


def test_unchecked_keys_are_named_in_every_format(db, tmp_path):
    db.execute("""
        CREATE TABLE t (id int PRIMARY KEY);
        CREATE FUNCTION next_id() RETURNS int LANGUAGE sql AS 'SELECT 7';
        ALTER TABLE t ALTER COLUMN id SET DEFAULT next_id();
    """)
    rules = tmp_path / "rules.yaml"
    rules.write_text(SEQUENCES)
    runner = CliRunner()
    for fmt in ("text", "json", "junit", "markdown"):
        args = ["check", "--dsn", db.dsn, "--rules", str(rules), "--format", fmt]
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (fmt, result.output)
        assert "public.t.id" in result.stdout, fmt
        if fmt == "json":
            [seq] = json.loads(result.stdout)["rules"]
            assert seq["status"] == "warn"
            assert seq["unchecked"][0]["subject"] == "public.t.id"


# MusicBrainz: every *_alias table has a unique key over (entity, locale) and BEFORE
# INSERT triggers that touch other columns only (CreateFunctions.sql, verbatim bodies).
ALIAS_TABLE = """
    CREATE TABLE area (id serial PRIMARY KEY);
    CREATE TABLE area_alias (id serial PRIMARY KEY, area int NOT NULL, locale text,
                             name text, sort_name text, type int, ended bool,
                             end_date_year smallint, status int, edit int);
    CREATE UNIQUE INDEX area_alias_idx_primary ON area_alias (area, locale)
      WHERE locale IS NOT NULL;
    CREATE UNIQUE INDEX area_alias_idx_edit ON area_alias (edit);
    INSERT INTO area SELECT FROM generate_series(1, 5);
"""
BODIES = {
    "end_date_implies_ended": """
        BEGIN
            IF NEW.end_date_year IS NOT NULL
            THEN
                NEW.ended = TRUE;
            END IF;
            RETURN NEW;
        END;""",
    "simplify_search_hints": """
        BEGIN
            IF NEW.type::int = 3 THEN
                NEW.name := NEW.sort_name;
                NEW.locale := NULL;
            END IF;
            RETURN NEW;
        END;""",
    "b_ins_edit_materialize_status": """
        BEGIN
            NEW.status = (SELECT status FROM area_alias WHERE id = NEW.edit);
            RETURN NEW;
        END;""",
    "replace_old_sub_on_add": """
        BEGIN
            UPDATE area_alias SET ended = TRUE WHERE area = NEW.area AND edit = NEW.edit;
            IF FOUND THEN RETURN NULL; ELSE RETURN NEW; END IF;
        END;""",
}


@pytest.mark.parametrize("function", sorted(BODIES))
def test_a_trigger_that_only_reads_the_keys_leaves_them_judged(db, function):
    """A PL/pgSQL trigger that never writes NEW.area or NEW.edit cannot feed them."""
    db.execute(
        ALIAS_TABLE
        + f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$"
        + BODIES[function]
        + "$$;"
        + "CREATE TRIGGER t_bi BEFORE INSERT ON area_alias FOR EACH ROW"
        + f" EXECUTE FUNCTION {function}();"
    )
    result = rule(gate(db.dsn, SEQUENCES), "sequences")
    assert result.status == "pass", (result.message, result.unchecked)
    assert result.unchecked == []


WRITERS = {
    "assigns it": "BEGIN NEW.area := 7; RETURN NEW; END;",
    "compares it (maybe a target)": "BEGIN IF NEW.area = 7 THEN NULL; END IF; RETURN NEW; END;",
    "selects into it": "BEGIN SELECT 7, 8 INTO NEW.edit, NEW.area; RETURN NEW; END;",
    "executes into it": "BEGIN EXECUTE 'SELECT 7' INTO NEW.area; RETURN NEW; END;",
    "replaces NEW": "BEGIN NEW := NEW #= hstore('area', '7'); RETURN NEW; END;",
    "selects into NEW": "BEGIN SELECT * INTO NEW FROM area_alias LIMIT 1; RETURN NEW; END;",
    "loops into NEW": "BEGIN FOR NEW IN SELECT * FROM area_alias LOOP END LOOP; RETURN NEW; END;",
    "an alias of NEW": "DECLARE r ALIAS FOR NEW; BEGIN r.area := 7; RETURN r; END;",
    "returns another row": (
        "DECLARE r area_alias; BEGIN SELECT * INTO r FROM area_alias LIMIT 1; RETURN r; END;"
    ),
    "calls a procedure": "BEGIN CALL bump(NEW.area); RETURN NEW; END;",
    "an E'' string": "BEGIN RAISE NOTICE E'it\\'s'; NEW.area := 7; RETURN NEW; END;",
}


@pytest.mark.parametrize("how", sorted(WRITERS))
def test_a_trigger_that_may_write_a_key_leaves_it_unchecked(db, how):
    db.execute(
        ALIAS_TABLE
        + "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS $body$"
        + WRITERS[how]
        + "$body$;"
        + "CREATE TRIGGER t_bi BEFORE INSERT ON area_alias FOR EACH ROW EXECUTE FUNCTION t();"
    )
    result = rule(gate(db.dsn, SEQUENCES), "sequences")
    assert result.status == "warn", result.message
    assert "public.area_alias.area" in {u.subject for u in result.unchecked}, how
