"""Check ``references``: exact orphan and reassignable counts, however the orphans got in."""

from __future__ import annotations

import pytest

from tests.gate import gate, logical, rule, violations

PARENT_CHILD = """
CREATE TABLE parent (id serial PRIMARY KEY);
CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent (id));
INSERT INTO parent SELECT FROM generate_series(1, 100);
DELETE FROM parent WHERE id BETWEEN 41 AND 50;  -- keys handed out, parents gone
"""


def test_orphans_loaded_with_replication_role_replica(db):
    db.execute(
        PARENT_CHILD
        + """
        INSERT INTO child (parent_id) SELECT 1 + g % 30 FROM generate_series(1, 300) g;
        SET session_replication_role = replica;
        INSERT INTO child (parent_id) SELECT 41 + g % 10 FROM generate_series(0, 19) g; -- 20
        INSERT INTO child (parent_id) SELECT g FROM generate_series(101, 125) g;        -- 25
        INSERT INTO child (parent_id) VALUES (NULL), (NULL);
    """
    )
    report = gate(db.dsn)
    assert report.exit_code == 1
    [found] = violations(report, "references")
    assert found["orphans"] == 45
    assert found["reassignable"] == 25, "only keys 101.. are still to be handed out"
    assert found["declared"] is True
    assert found["constraint"] == "child_parent_id_fkey"
    assert found["parent_sequence"] == "public.parent_id_seq"
    assert found["sample"][:3] == [[41], [42], [43]]
    assert len(found["sample"]) == 20, "at most 20 distinct keys"
    assert rule(report, "references").message == "45 orphaned rows, 25 of them reassignable"


def test_clean_data_has_no_orphans(db):
    db.execute(PARENT_CHILD + "INSERT INTO child (parent_id) VALUES (1), (2), (NULL);")
    result = rule(gate(db.dsn), "references")
    assert (result.status, result.message) == (
        "pass",
        "no orphans in 1 reference (1 declared, 0 logical)",
    )


def test_reassignable_respects_the_increment(db):
    db.execute("""
        CREATE SEQUENCE s INCREMENT 10;
        CREATE TABLE parent (id int PRIMARY KEY DEFAULT nextval('s'));
        CREATE TABLE child (parent_id int);
        INSERT INTO parent DEFAULT VALUES;               -- 1; then 11, 21, 31, ...
        INSERT INTO child VALUES (11), (21), (25), (1000001), (0);
    """)
    [found] = violations(gate(db.dsn, logical("child(parent_id)", "parent(id)")), "references")
    assert found["orphans"] == 5
    assert found["reassignable"] == 3, "11, 21 and 1000001 will be handed out; 25 and 0 never"


def test_composite_match_simple_ignores_rows_with_a_null(db):
    db.execute("""
        CREATE TABLE p (a int, b int, PRIMARY KEY (a, b));
        CREATE TABLE c (a int, b int, FOREIGN KEY (a, b) REFERENCES p (a, b));
        INSERT INTO p VALUES (1, 1), (1, 2);
        SET session_replication_role = replica;
        INSERT INTO c VALUES (1, 1), (1, 3), (2, 1), (NULL, 9), (9, NULL), (NULL, NULL);
    """)
    [found] = violations(gate(db.dsn), "references")
    assert found["orphans"] == 2
    assert found["sample"] == [[1, 3], [2, 1]]
    assert found["reassignable"] == 0


def test_composite_match_full_counts_partly_null_keys(db):
    db.execute("""
        CREATE TABLE p (a int, b int, PRIMARY KEY (a, b));
        CREATE TABLE c (a int, b int, FOREIGN KEY (a, b) REFERENCES p (a, b) MATCH FULL);
        INSERT INTO p VALUES (1, 1);
        SET session_replication_role = replica;
        INSERT INTO c VALUES (1, 1), (2, 2), (NULL, 9), (9, NULL), (NULL, NULL);
    """)
    [found] = violations(gate(db.dsn), "references")
    assert found["orphans"] == 3


def test_self_reference(db):
    db.execute("""
        CREATE TABLE node (id serial PRIMARY KEY, parent_id int REFERENCES node (id));
        INSERT INTO node (parent_id) VALUES (NULL), (1), (2);
        SET session_replication_role = replica;
        INSERT INTO node (id, parent_id) VALUES (4, 77);
        SELECT setval('node_id_seq', 4);
    """)
    report = gate(db.dsn)
    [orphans] = violations(report, "references")
    assert (orphans["orphans"], orphans["reassignable"], orphans["sample"]) == (1, 1, [[77]])
    [behind] = violations(report, "sequences")
    assert (behind["max_value"], behind["max_source"]) == (77, "public.node.parent_id")


def test_disabled_triggers_and_not_valid_are_named(db):
    db.execute(
        PARENT_CHILD
        + """
        ALTER TABLE child DISABLE TRIGGER ALL;
        INSERT INTO child (parent_id) VALUES (500);
        CREATE TABLE other (parent_id int);
        INSERT INTO other VALUES (600);
        ALTER TABLE other ADD CONSTRAINT other_fk
            FOREIGN KEY (parent_id) REFERENCES parent NOT VALID;
    """
    )
    found = {v["constraint"]: v for v in violations(gate(db.dsn), "references")}
    assert found["child_parent_id_fkey"]["constraint_state"] == ["triggers disabled"]
    assert found["other_fk"]["constraint_state"] == ["not validated"]


def test_data_only_restore_with_disabled_triggers_lets_orphans_in(new_db, dump, restore, tmp_path):
    """pg_restore -a --disable-triggers loads orphans; afterwards the catalog shows nothing."""
    source, target = new_db(), new_db()
    source.execute(PARENT_CHILD + "INSERT INTO child (parent_id) VALUES (1), (2);")
    archive = tmp_path / "data.dump"
    dump(source, archive, "-Fc")
    restore(archive, target, "-s")
    source.execute("DELETE FROM child; DELETE FROM parent; INSERT INTO parent VALUES (1);")
    source.execute(
        "SET session_replication_role = replica; INSERT INTO child (parent_id) VALUES (2)"
    )
    dump(source, archive, "-Fc", "-a")
    assert restore(archive, target, "-a", "--disable-triggers").returncode == 0
    [found] = violations(gate(target.dsn), "references")
    assert found["orphans"] == 1
    assert found["constraint_state"] == []


def test_partitioned_child_and_parent(db):
    db.execute("""
        CREATE TABLE customers (id int PRIMARY KEY, region int) ;
        CREATE TABLE orders (id int, customer_id int REFERENCES customers (id), at date)
            PARTITION BY RANGE (at);
        CREATE TABLE orders_a PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE TABLE orders_b PARTITION OF orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        INSERT INTO customers VALUES (1, 1);
        SET session_replication_role = replica;
        INSERT INTO orders VALUES (1, 1, '2025-05-01'), (2, 5, '2025-05-01'), (3, 6, '2026-05-01');
    """)
    [found] = violations(gate(db.dsn), "references")
    assert found["orphans"] == 2
    assert found["reference"] == "public.orders(customer_id) -> public.customers(id)"


def test_logical_reference_to_a_partitioned_parent(db):
    db.execute("""
        CREATE TABLE users (id int, shard int, PRIMARY KEY (id, shard)) PARTITION BY LIST (shard);
        CREATE TABLE users_0 PARTITION OF users FOR VALUES IN (0);
        CREATE TABLE users_1 PARTITION OF users FOR VALUES IN (1);
        CREATE TABLE posts (user_id bigint);
        INSERT INTO users VALUES (1, 0), (2, 1);
        INSERT INTO posts VALUES (1), (2), (3);
    """)
    [found] = violations(gate(db.dsn, logical("posts(user_id)", "users(id)")), "references")
    assert (found["orphans"], found["declared"]) == (1, False)


def test_not_enforced_foreign_key(db, pg_server):
    if pg_server.major_version < 18:
        pytest.skip("NOT ENFORCED foreign keys arrived in PostgreSQL 18")
    db.execute("""
        CREATE TABLE p (id int PRIMARY KEY);
        CREATE TABLE c (p_id int REFERENCES p (id) NOT ENFORCED);
        INSERT INTO c VALUES (3);
    """)
    [found] = violations(gate(db.dsn), "references")
    assert found["constraint_state"] == ["not validated", "not enforced"]


@pytest.mark.parametrize(
    ("child", "parent", "message"),
    [
        ("journal(user_id)", "accounts(id)", "from: table public.journal does not exist"),
        ("journals(user)", "accounts(id)", 'from: column public.journals."user" does not exist'),
        ("journals(user_id)", "accounts(email)", "cannot be compared"),
    ],
)
def test_logical_references_to_missing_or_incomparable_columns_are_rules_errors(
    db, child, parent, message
):
    from restoregate.errors import RulesError

    db.execute("""
        CREATE TABLE accounts (id serial PRIMARY KEY, email text);
        CREATE TABLE journals (user_id int);
    """)
    with pytest.raises(RulesError) as caught:
        gate(db.dsn, logical(child, parent))
    assert message in str(caught.value)
    assert caught.value.path == "test.yaml"
    assert caught.value.line > 1


BIG_PAIR = """
CREATE TABLE parent (id bigserial PRIMARY KEY, note text);
CREATE TABLE child (id bigserial PRIMARY KEY, parent_id bigint REFERENCES parent (id));
CREATE INDEX ON child (parent_id);
INSERT INTO parent (note) SELECT 'parent ' || g FROM generate_series(1, 40000) g;
INSERT INTO child (parent_id) SELECT 1 + g % 39000 FROM generate_series(1, 60000) g;
SET session_replication_role = replica;
DELETE FROM parent WHERE id BETWEEN 101 AND 110;  -- keys handed out, parents gone
INSERT INTO child (parent_id) SELECT 40000 + g FROM generate_series(1, 7) g;  -- reassignable
INSERT INTO child (parent_id) VALUES (NULL);
RESET session_replication_role;
"""


def _walks(monkeypatch) -> list[bool]:
    """Spy on the index-walk decision; also fail if its planner settings outlive a probe."""
    from restoregate.engines.postgres import grouped, probes

    decided: list[bool] = []
    decide, stats = grouped.walks_indexes, probes.PostgresEngine._reference_stats

    def spy(*args):
        decided.append(decide(*args))
        return decided[-1]

    def checked(self, request):
        found = stats(self, request)
        conn = self._sessions.worker().conn
        row = conn.execute("SELECT pg_catalog.current_setting('enable_hashjoin')").fetchone()
        assert row == ("on",), "the walk's planner settings leaked out of its probe"
        return found

    monkeypatch.setattr(grouped, "walks_indexes", spy)
    monkeypatch.setattr(probes.PostgresEngine, "_reference_stats", checked)
    return decided


def test_big_indexed_tables_walk_both_indexes_with_the_same_answers(db, monkeypatch):
    from restoregate.engines.postgres import grouped

    db.execute(BIG_PAIR)
    with db.connect() as conn:
        conn.execute("VACUUM ANALYZE")  # the visibility map the walk relies on
    decided = _walks(monkeypatch)
    walked = gate(db.dsn)
    assert decided == [True], "both key columns indexed, all visible, over 1 MB"
    monkeypatch.setattr(grouped, "WALK_PAGES", 10**9)  # the planner's hash anti-join
    hashed = gate(db.dsn)
    assert decided == [True, False]
    found = violations(walked, "references")
    assert found == violations(hashed, "references")
    assert [(v["orphans"], v["reassignable"]) for v in found] == [(27, 7)]
    assert found[0]["sample"][:3] == [[101], [102], [103]]
    assert violations(walked, "sequences") == violations(hashed, "sequences")


def test_tables_without_a_visibility_map_are_not_walked(db, monkeypatch):
    db.execute(BIG_PAIR)  # no VACUUM: every index entry would cost a heap visit
    with db.connect() as conn:
        conn.execute("ANALYZE")
    decided = _walks(monkeypatch)
    [found] = violations(gate(db.dsn), "references")
    assert decided == [False]
    assert (found["orphans"], found["reassignable"]) == (27, 7)


def test_a_parent_an_extension_owns_is_named_by_the_catalog_and_judged(db):
    """Tables an extension owns are not read as tables (CREATE EXTENSION restores them),
    yet a foreign key may point at one: its name and key columns come from the foreign
    keys query itself, and its orphans are still counted."""
    db.execute(
        'CREATE TABLE "Owned Parent" (code int PRIMARY KEY, "Ref Key" int UNIQUE);'
        'ALTER EXTENSION plpgsql ADD TABLE "Owned Parent";'
        'INSERT INTO "Owned Parent" VALUES (1, 10), (2, 20);'
        'CREATE TABLE child (id serial PRIMARY KEY, ref int REFERENCES "Owned Parent" ("Ref Key"));'
        "INSERT INTO child (ref) VALUES (10), (20), (20);"
        "SET session_replication_role = replica; INSERT INTO child (ref) VALUES (30);"
    )
    try:
        report = gate(db.dsn)
        [found] = violations(report, "references")
        assert found["orphans"] == 1
        assert found["reference"] == 'public.child(ref) -> public."Owned Parent"("Ref Key")'
        assert report.exit_code == 1
    finally:
        db.execute('ALTER EXTENSION plpgsql DROP TABLE "Owned Parent"')
