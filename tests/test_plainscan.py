"""plainscan reads a script as psql does: every meta-command psql would run is refused.

The property test is differential: hypothesis builds scripts from the pieces that
steer psql's lexer (quotes of every kind, dollar quotes, comments, parentheses,
BEGIN ATOMIC bodies, standard_conforming_strings switches), real psql runs each one,
and whenever psql ran the ``\\echo`` meta-command, plainscan must have refused it.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restoregate.engines.postgres.embedded import find_tool, isolated_env
from restoregate.errors import RestoregateError
from restoregate.plainscan import vet


def vetted(tmp_path: Path, script: str) -> str:
    path = tmp_path / "script.sql"
    path.write_text(script)
    out = io.BytesIO()
    vet(path, out)
    return out.getvalue().decode()


@pytest.mark.parametrize(
    "script",
    [
        "CREATE TABLE t (s text CHECK (s ~ '\\d+'));\n",
        "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN '\\n'; END$$;\n",
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT E'\\\\x' $body$;\n",
        "SELECT E'it\\'s', 'a\\b', U&'\\0041', $1, x$y$ FROM t; -- \\! in a comment\n",
        "/* nested /* \\! */ still comment */ SELECT 1;\n",
        "SELECT (ARRAY[1,2])[1:2], 1::int, '{}'::jsonb;\n",
        "COPY public.t (a, b) FROM stdin;\n1\t\\\\N\\t\\n\\N\n\\.\nSELECT 1;\n",
        'SELECT "we\\ird;" FROM "a""b";\n',
    ],
)
def test_what_pg_dump_writes_passes(tmp_path, script):
    assert vetted(tmp_path, script) == script


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("SELECT 1; \\! id\n", "meta-command (\\!)"),
        ("SELECT 'a' \\g /tmp/x\n", "meta-command (\\g)"),
        ("SELECT :'LAST_ERROR_MESSAGE';\n", "psql variable reference"),
        ("SELECT :{?x};\n", "psql variable reference"),
        ("SET standard_conforming_strings = off;\nSELECT 'a\\' \\! id '';\n", "meta-command"),
        ("SELECT 'a\\';\n\\! id\n", "meta-command (\\!)"),
        ("SELECT E'a'\n'\\' \\! id ';\n", "string continued on a later line"),
        ("COPY t FROM stdin;\n1\t\\x41\n\\.\n", "COPY data with a backslash"),
        ("SELECT 1;\n\\.\n", "meta-command (\\.)"),
        ("SELECT set_config('client_encoding', 'SJIS', false);\n", "client_encoding"),
        (
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\n"
            "COPY t FROM stdin;\n\\! id\n\\.\nEND;\n",
            "meta-command (\\!)",
        ),
        ('COPY "t FROM stdin;\n" FROM stdin;\n\\! id\n', "meta-command (\\!)"),
    ],
)
def test_what_psql_would_act_on_is_refused(tmp_path, script, said):
    with pytest.raises(RestoregateError) as refused:
        vetted(tmp_path, script)
    assert said in str(refused.value)
    assert "\n" not in str(refused.value)


def test_pg_dumps_own_lines_are_dropped_not_refused(tmp_path):
    script = (
        "\\restrict abcDEF123\nCREATE TABLE t (a int);\nALTER TABLE public.t OWNER TO app;\n"
        "GRANT SELECT ON TABLE public.t TO reader;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\n"
        "\\unrestrict abcDEF123\n"
    )
    assert vetted(tmp_path, script) == "\nCREATE TABLE t (a int);\n\n\n\n\n"


def test_text_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.sql"
    path.write_bytes("SELECT 'Stra\xdfe';\n".encode("latin-1"))
    with pytest.raises(RestoregateError, match=":1: not UTF-8 text"):
        vet(path, io.BytesIO())


PIECES = [
    "'", "E'", "''", "\\\\", "\\'", "$$", "$a$", '"', "/*", "*/", "--", "\n", " ", ";",
    "x", "(", ")", "BEGIN ", "END ", "CASE ", "CREATE FUNCTION f() ", "U&'", "B'", "N'",
    "1", "$1", ":", "\\echo HIT\n", "SET standard_conforming_strings = off;\n",
    "SET standard_conforming_strings = on;\n", "\n'", "e", "a$", ".", "E", "&",
]  # fmt: skip


@pytest.fixture(scope="module")
def psql_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("psql-home")
    return isolated_env(home, home)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14))
def test_whenever_psql_runs_a_meta_command_plainscan_refused(pg_server, psql_env, tmp_path, pieces):
    script = "".join(pieces) + "\n"
    try:
        vetted(tmp_path, script)
        refused = False
    except RestoregateError:
        refused = True
    ran = subprocess.run(
        [str(find_tool("psql")), "-X", "-q", "-d", pg_server.admin_dsn, "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        env=psql_env,
        timeout=30,
    )
    assert refused or "HIT" not in ran.stdout, script
