"""Inference on one small schema per naming convention, as ``init`` writes it out.

Each case is built the way such schemas are (Rails, Django, MusicBrainz's bare names,
Northwind's text keys, pagila's partitioned tables, self-references) with no foreign
key at all, and with data whose references hold. ``init`` must write exactly the
references the convention implies: no more (never a table's own key, never a counter),
no less.
"""

from __future__ import annotations

import pytest
import yaml

from restoregate import api

RAILS = """
CREATE TABLE users (id bigserial PRIMARY KEY, name text);
CREATE TABLE categories (id bigserial PRIMARY KEY, name text);
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint, category_id bigint,
                    approver_id bigint, score int, views int);
CREATE TABLE comments (id bigserial PRIMARY KEY, post_id bigint, creator_id bigint,
                       body text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 120) g;
INSERT INTO categories (name) SELECT 'c' || g FROM generate_series(1, 30) g;
INSERT INTO posts (user_id, category_id, approver_id, score, views)
  SELECT g % 120 + 1, g % 30 + 1, g % 7 + 1, g % 5, g * 3 FROM generate_series(1, 400) g;
INSERT INTO comments (post_id, creator_id, body)
  SELECT g % 400 + 1, g % 120 + 1, 'x' FROM generate_series(1, 900) g;
"""

DJANGO = """
CREATE TABLE auth_user (id serial PRIMARY KEY, username varchar(150) UNIQUE);
CREATE TABLE auth_group (id serial PRIMARY KEY, name varchar(150) UNIQUE);
CREATE TABLE auth_user_groups (id bigserial PRIMARY KEY, user_id int NOT NULL,
                               group_id int NOT NULL, UNIQUE (user_id, group_id));
CREATE TABLE blog_entry (id bigserial PRIMARY KEY, author_id int, title text);
INSERT INTO auth_user (username) SELECT 'u' || g FROM generate_series(1, 80) g;
INSERT INTO auth_group (name) SELECT 'g' || g FROM generate_series(1, 12) g;
INSERT INTO auth_user_groups (user_id, group_id)
  SELECT u, g FROM generate_series(1, 80) u, generate_series(1, 12) g WHERE (u + g) % 5 = 0;
INSERT INTO blog_entry (author_id, title) SELECT g % 80 + 1, 't' FROM generate_series(1, 300) g;
"""

BARE = """
CREATE TABLE artist_type (id serial PRIMARY KEY, name text);
CREATE TABLE area (id serial PRIMARY KEY, name text);
CREATE TABLE artist (id serial PRIMARY KEY, name text, type int, begin_area int,
                     position int);
CREATE TABLE release_group (id serial PRIMARY KEY, artist int, name text);
CREATE TABLE release (id serial PRIMARY KEY, release_group int, artist int, quality int);
INSERT INTO artist_type (name) SELECT 't' || g FROM generate_series(1, 6) g;
INSERT INTO area (name) SELECT 'a' || g FROM generate_series(1, 50) g;
INSERT INTO artist (name, type, begin_area, position)
  SELECT 'x', g % 6 + 1, g % 50 + 1, g FROM generate_series(1, 200) g;
INSERT INTO release_group (artist, name) SELECT g % 200 + 1, 'r' FROM generate_series(1, 300) g;
INSERT INTO release (release_group, artist, quality)
  SELECT g % 300 + 1, g % 200 + 1, g % 3 FROM generate_series(1, 500) g;
"""

TEXT_KEYS = """
CREATE TABLE customers (customer_id bpchar(5) PRIMARY KEY, company text);
CREATE TABLE orders (order_id int PRIMARY KEY, customer_id bpchar(5), ship_via int);
CREATE TABLE rooms (room_id text PRIMARY KEY);
CREATE TABLE events (event_id text PRIMARY KEY, room_id varchar(255), sender text);
INSERT INTO customers SELECT upper(substr(md5(g::text), 1, 5)), 'c' FROM generate_series(1, 90) g;
INSERT INTO orders SELECT g, upper(substr(md5((g % 90 + 1)::text), 1, 5)), g % 3 + 1
  FROM generate_series(1, 800) g;
INSERT INTO rooms SELECT '!' || md5(g::text) || ':example.org' FROM generate_series(1, 40) g;
INSERT INTO events
  SELECT '$' || md5('e' || g), '!' || md5((g % 40 + 1)::text) || ':example.org', 'x'
  FROM generate_series(1, 600) g;
"""

PARTITIONED = """
CREATE TABLE rental (rental_id serial PRIMARY KEY, rented_at date);
CREATE TABLE payment (payment_id serial, rental_id int, amount numeric, paid date NOT NULL)
  PARTITION BY RANGE (paid);
CREATE TABLE payment_p1 PARTITION OF payment FOR VALUES FROM ('2020-01-01') TO ('2020-07-01');
CREATE TABLE payment_p2 PARTITION OF payment FOR VALUES FROM ('2020-07-01') TO ('2021-01-01');
ALTER TABLE payment_p1 ADD PRIMARY KEY (payment_id);
ALTER TABLE payment_p2 ADD PRIMARY KEY (payment_id);
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_a PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2020-07-01');
CREATE TABLE events_b PARTITION OF events FOR VALUES FROM ('2020-07-01') TO ('2021-01-01');
ALTER TABLE events_a ADD PRIMARY KEY (id);
ALTER TABLE events_b ADD PRIMARY KEY (id);
CREATE TABLE attendances (id serial PRIMARY KEY, event_id bigint);
INSERT INTO rental (rented_at) SELECT date '2020-01-01' FROM generate_series(1, 300);
INSERT INTO payment (rental_id, amount, paid)
  SELECT g % 300 + 1, 1, date '2020-01-01' + g % 360 FROM generate_series(1, 700) g;
INSERT INTO events SELECT g, date '2020-01-01' + g % 360 FROM generate_series(1, 250) g;
INSERT INTO attendances (event_id) SELECT g % 250 + 1 FROM generate_series(1, 500) g;
"""

SELF = """
CREATE TABLE employees (employee_id int PRIMARY KEY, reports_to int, name text);
CREATE TABLE category (id serial PRIMARY KEY, parent_id int, parent_category_id int);
INSERT INTO employees SELECT g, CASE WHEN g > 1 THEN g / 2 END, 'e' FROM generate_series(1, 60) g;
INSERT INTO category (parent_id, parent_category_id)
  SELECT CASE WHEN g > 1 THEN g - 1 END, CASE WHEN g > 1 THEN g / 2 END
  FROM generate_series(1, 40) g;
"""

SIBLINGS = """
CREATE TABLE release (id serial PRIMARY KEY);
CREATE TABLE release_raw (id serial PRIMARY KEY);
CREATE TABLE track_raw (id serial PRIMARY KEY, release int NOT NULL);
INSERT INTO release SELECT FROM generate_series(1, 300);
INSERT INTO release_raw SELECT FROM generate_series(1, 400);
INSERT INTO track_raw (release) SELECT g % 400 + 1 FROM generate_series(1, 900) g;
-- but release_tag_raw is named after release (the raw tag votes of a release), like
-- artist_tag_raw after artist: its release is a release, whatever release_raw holds
CREATE TABLE tag (id serial PRIMARY KEY);
CREATE TABLE release_tag_raw (release int NOT NULL, tag int NOT NULL, PRIMARY KEY (release, tag));
INSERT INTO tag SELECT FROM generate_series(1, 50);
INSERT INTO release_tag_raw SELECT g % 300 + 1, g % 50 + 1 FROM generate_series(1, 300) g;
"""

# Danbooru's versions tables: previous_version_id names no table of its own, only the head
# word every *_versions table shares; the data fits them all (every table holds the ids).
# The version it follows is in its own table, whichever table the name also fits.
VERSIONS = """
CREATE TABLE posts (id bigserial PRIMARY KEY);
CREATE TABLE post_versions (id bigserial PRIMARY KEY, post_id bigint NOT NULL);
CREATE TABLE pool_versions (id bigserial PRIMARY KEY);
CREATE TABLE tag_versions (id bigserial PRIMARY KEY, previous_version_id bigint);
CREATE TABLE wiki_page_versions (id bigserial PRIMARY KEY);
INSERT INTO posts SELECT FROM generate_series(1, 300);
INSERT INTO post_versions (post_id) SELECT g % 300 + 1 FROM generate_series(1, 500) g;
INSERT INTO pool_versions SELECT FROM generate_series(1, 400);
INSERT INTO wiki_page_versions SELECT FROM generate_series(1, 450);
INSERT INTO tag_versions (previous_version_id)
  SELECT CASE WHEN g > 1 THEN g - 1 END FROM generate_series(1, 250) g;
"""

CASES = {
    "versions": (
        VERSIONS,
        {
            ("public.post_versions(post_id)", "public.posts(id)"),
            ("public.tag_versions(previous_version_id)", "public.tag_versions(id)"),
        },
    ),
    "siblings": (
        SIBLINGS,
        {
            ("public.track_raw(release)", "public.release_raw(id)"),
            ("public.release_tag_raw(release)", "public.release(id)"),
            ("public.release_tag_raw(tag)", "public.tag(id)"),
        },
    ),
    "rails": (
        RAILS,
        {
            ("public.posts(user_id)", "public.users(id)"),
            ("public.posts(category_id)", "public.categories(id)"),
            ("public.posts(approver_id)", "public.users(id)"),
            ("public.comments(post_id)", "public.posts(id)"),
            ("public.comments(creator_id)", "public.users(id)"),
        },
    ),
    "django": (
        DJANGO,
        {
            ("public.auth_user_groups(user_id)", "public.auth_user(id)"),
            ("public.auth_user_groups(group_id)", "public.auth_group(id)"),
            ("public.blog_entry(author_id)", "public.auth_user(id)"),
        },
    ),
    "bare names": (
        BARE,
        {
            ("public.artist(type)", "public.artist_type(id)"),
            ("public.artist(begin_area)", "public.area(id)"),
            ("public.release_group(artist)", "public.artist(id)"),
            ("public.release(release_group)", "public.release_group(id)"),
            ("public.release(artist)", "public.artist(id)"),
        },
    ),
    "text keys": (
        TEXT_KEYS,
        {
            ("public.orders(customer_id)", "public.customers(customer_id)"),
            ("public.events(room_id)", "public.rooms(room_id)"),
        },
    ),
    "partitioned": (
        PARTITIONED,
        {
            ("public.payment(rental_id)", "public.rental(rental_id)"),
            ("public.attendances(event_id)", "public.events(id)"),
        },
    ),
    "self-references": (
        SELF,
        {
            ("public.employees(reports_to)", "public.employees(employee_id)"),
            ("public.category(parent_id)", "public.category(id)"),
            ("public.category(parent_category_id)", "public.category(id)"),
        },
    ),
}


def written(text: str) -> set[tuple[str, str]]:
    return {(r["from"], r["to"]) for r in yaml.safe_load(text).get("references") or []}


@pytest.mark.parametrize("case", sorted(CASES))
def test_init_writes_what_the_convention_implies(db, case, tmp_path):
    setup, expected = CASES[case]
    db.execute(setup + "ANALYZE;")
    text = api.init_rules(db.dsn)
    assert written(text) == expected, text
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    report = api.run_check(db.dsn, [rules])
    failed = [(r.id, r.message) for r in report.rules if r.status not in ("pass", "warn")]
    assert report.exit_code == 0, failed


def test_a_reference_with_orphans_in_text_keys_is_counted(db):
    """Northwind's bpchar keys: orphans are found, never refused as incomparable."""
    db.execute(TEXT_KEYS + "INSERT INTO orders VALUES (9001, 'ZZZZZ', 1); ANALYZE;")
    from tests.gate import gate, rule

    report = gate(db.dsn, "version: 1\nrules:\n  - {id: s, check: suspected_references}\n")
    found = {v.to_dict()["reference"]: v.to_dict() for v in rule(report, "s").violations}
    ref = "public.orders(customer_id) -> public.customers(customer_id)"
    assert found[ref]["orphans"] == 1 and found[ref]["strength"] == "strong"
    assert found[ref]["reassignable"] == 0, "a text key has no next value to hand out"
