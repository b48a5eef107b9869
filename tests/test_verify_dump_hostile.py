"""verify-dump on hostile dumps: nothing in a dump acts outside the throwaway server.

Each attack is a real dump (pg_dump of a test database) with the attack added, run
through the CLI; a marker file that must never appear, a table that must never be
created on another server, host file content that must never reach the report.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from restoregate import plainscan, verify
from restoregate.cli import cli
from restoregate.engines.postgres.embedded import isolated_env

APP = """
CREATE TABLE accounts (id serial PRIMARY KEY, email text CHECK (email ~ '^\\S+$'));
INSERT INTO accounts (email) SELECT 'u' || g FROM generate_series(1, 30) g;
"""
SYSTEM_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def verify_cli(*args: str):
    return CliRunner().invoke(cli, ["verify-dump", *args], catch_exceptions=False)


@pytest.fixture
def marker():
    path = Path(tempfile.gettempdir(), f"rg-marker-{uuid.uuid4().hex[:10]}")
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def plain(db, dump, tmp_path):
    """``plain(extra)``: a real plain dump of a small database with ``extra`` appended."""
    db.execute(APP)
    dump(db, tmp_path / "base.sql", "-Fp")
    base = (tmp_path / "base.sql").read_text()

    def make(extra: str, name: str = "hostile.sql") -> Path:
        path = tmp_path / name
        path.write_text(base + extra)
        return path

    return make


def assert_refused(result, line_fragment: str) -> None:
    assert result.exit_code == 3, result.output
    [line] = result.stderr.strip().splitlines()
    assert "refusing to restore" in line or "COPY data" in line, line
    assert line_fragment in line, line


@pytest.mark.parametrize(
    ("attack", "shown"),
    [
        ("\\! touch {marker}\n", "meta-command (\\!)"),
        ("\\copy (SELECT 1) to program 'touch {marker}'\n", "meta-command (\\copy)"),
        ("\\o |touch {marker}\nSELECT 1;\n", "meta-command (\\o)"),
        ("SELECT 1; \\! touch {marker}\n", "meta-command (\\!)"),  # mid-line, as psql reads it
        ("SELECT :'LAST_ERROR_MESSAGE';\n", "psql variable reference"),
        ("\\unrestrict abc\n\\! touch {marker}\n", "meta-command (\\!)"),  # psql never sees it
    ],
)
def test_meta_commands_in_a_plain_dump_never_run(plain, marker, attack, shown):
    result = verify_cli(str(plain(attack.format(marker=marker))))
    assert_refused(result, shown)
    assert not marker.exists()


def test_include_of_a_host_file_is_refused_and_its_content_never_shown(plain):
    result = verify_cli(str(plain("\\i /etc/passwd\n")), "--format", "json")
    assert_refused(result, "meta-command (\\i)")
    assert "root:" not in result.output


def test_connect_elsewhere_with_the_ci_environment_creates_nothing(plain, monkeypatch):
    """The CI's PG* environment points at a real server that trusts postgres: no use."""
    try:
        psycopg.connect(SYSTEM_PG, connect_timeout=2).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 to be attacked")
    table = f"rg_stolen_{uuid.uuid4().hex[:8]}"
    for key, value in {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PGDATABASE", "postgres")
    result = verify_cli(str(plain(f"\\c postgres\nCREATE TABLE public.{table} (id int);\n")))
    assert_refused(result, "meta-command (\\c; a --create or pg_dumpall dump")
    with psycopg.connect(SYSTEM_PG) as conn:
        found = conn.execute("SELECT to_regclass(%s)", [f"public.{table}"]).fetchone()
    assert found == (None,)


def test_restricted_psql_alone_still_blocks_meta_commands(plain, marker, monkeypatch):
    """The first defence without the second: the raw script goes to psql unvetted."""

    def unvetted(source: Path, target) -> plainscan.Vetted:
        """Only pg_dump's own lines go (psql would refuse the first \\restrict)."""
        for line in source.read_bytes().splitlines(keepends=True):
            own = line.startswith((b"\\restrict", b"\\unrestrict")) or b" OWNER TO " in line
            target.write(b"\n" if own else line)
        return plainscan.Vetted(0, None)

    monkeypatch.setattr(plainscan, "vet", unvetted)
    result = verify_cli(str(plain(f"\\! touch {marker}\n")), "--format", "json")
    assert not marker.exists()
    assert result.exit_code == 1, result.output
    messages = [v["message"] for v in json.loads(result.stdout)["rules"][0]["violations"]]
    assert any("backslash commands are restricted" in m for m in messages), messages


def test_a_psql_without_the_restrict_fix_is_refused(plain, monkeypatch):
    monkeypatch.setattr(verify, "tool_version", lambda path: (18, 5))
    result = verify_cli(str(plain("")))
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert "psql 18.5: plain dumps need psql 18.6" in line


def test_copy_data_that_psql_could_read_as_commands_is_refused(plain, marker):
    attack = f"COPY public.accounts (id, email) FROM stdin;\n99\t\\! touch {marker}\n\\.\n"
    assert_refused(verify_cli(str(plain(attack))), "COPY data with a backslash")
    assert not marker.exists()


def test_a_failed_copy_stops_psql_before_its_data(plain):
    """After a COPY the server rejects, psql would read the data lines as script."""
    attack = (
        "COPY public.missing (a) FROM stdin;\n1\n\\.\nCREATE TABLE public.after_copy (a int);\n"
    )
    result = verify_cli(str(plain(attack)), "--format", "json", "--keep")
    kept = result.stderr.strip().splitlines()
    dsn = next(line for line in kept if "still running" in line).split(": ", 1)[1]
    try:
        assert result.exit_code == 1, result.output
        errors = json.loads(result.stdout)["rules"][0]["violations"]
        assert 'relation "public.missing" does not exist' in errors[0]["message"]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('public.after_copy')").fetchone() == (None,)
    finally:
        from tests.test_verify_dump import stop_kept

        stop_kept("\n".join(kept[kept.index(next(k for k in kept if "still running" in k)) :]))


def test_pg_dumps_own_lines_are_accepted(plain):
    """pg_dump's \\restrict/\\unrestrict and OWNER TO lines: dropped, not errors."""
    path = plain("")
    text = path.read_text()
    assert "\\restrict " in text and "OWNER TO" in text
    result = verify_cli(str(path), "--format", "json")
    assert result.exit_code == 0, result.output


SERVER_ATTACK = """
CREATE FUNCTION public.hostile() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() = 'restored' THEN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'touch {marker}');
  END IF;
  RETURN 1;
END $$;
CREATE MATERIALIZED VIEW public.run AS SELECT public.hostile() AS done;
CREATE FUNCTION public.peek() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() = 'restored' THEN RETURN pg_read_file('/etc/passwd'); END IF;
  RETURN '';
END $$;
CREATE MATERIALIZED VIEW public.leak AS SELECT public.peek() AS content;
"""


def test_an_archive_cannot_run_programs_or_read_server_files(db, dump, tmp_path, marker):
    db.execute(APP + SERVER_ATTACK.replace("{marker}", str(marker)))
    dump(db, tmp_path / "hostile.dump", "-Fc")
    result = verify_cli(str(tmp_path / "hostile.dump"), "--format", "json")
    assert not marker.exists()
    assert "root:" not in result.output
    assert result.exit_code == 1, result.output
    restore = json.loads(result.stdout)["rules"][0]
    assert restore["status"] == "fail"
    messages = " | ".join(v["message"] for v in restore["violations"])
    assert "COPY to or from an external program" in messages
    assert "pg_read_file" in messages


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        (
            "CREATE FUNCTION public.run(text) RETURNS int LANGUAGE c"
            " AS '/lib/x86_64-linux-gnu/libc.so.6', 'system';",
            "permission denied for language c",
        ),
        ("CREATE EXTENSION dblink;", 'permission denied to create extension "dblink"'),
    ],
)
def test_untrusted_languages_and_extensions_fail_restore_errors(tmp_path, statement, said):
    script = tmp_path / "untrusted.sql"
    script.write_text(f"CREATE TABLE public.t (id int PRIMARY KEY);\n{statement}\n")
    result = verify_cli(str(script), "--format", "json")
    assert result.exit_code == 1, result.output
    [error, _stopped] = json.loads(result.stdout)["rules"][0]["violations"]
    assert said in error["message"]


def test_trust_dump_restores_as_superuser(db, dump, tmp_path, marker):
    """What --trust-dump means, shown with the same archive: it may run programs."""
    db.execute(APP + SERVER_ATTACK.replace("{marker}", str(marker)))
    dump(db, tmp_path / "trusted.dump", "-Fc")
    result = verify_cli(str(tmp_path / "trusted.dump"), "--trust-dump", "--format", "json")
    assert marker.exists(), "restored as superuser: REFRESH MATERIALIZED VIEW ran the program"
    assert json.loads(result.stdout)["rules"][0]["status"] == "pass", result.output


def test_the_tools_see_none_of_the_callers_pg_settings(db, dump, tmp_path, monkeypatch):
    db.execute(APP)
    dump(db, tmp_path / "app.dump", "-Fc")
    with monkeypatch.context() as env:  # undone before the test's databases are dropped
        env.setenv("PGOPTIONS", "-c default_transaction_read_only=on")  # restores nothing
        env.setenv("PGPASSFILE", str(tmp_path / "pgpass"))
        assert verify_cli(str(tmp_path / "app.dump")).exit_code == 0
    env = isolated_env(Path("/run/sock"), tmp_path)
    assert {k for k in env if k.startswith("PG")} == {
        "PGHOST",
        "PGPASSFILE",
        "PGSERVICEFILE",
        "PGSYSCONFDIR",
        "PGCLIENTENCODING",
    }
    assert env["PGHOST"] == "/run/sock" and not Path(env["PGPASSFILE"]).exists()


def modes(path: Path) -> list[tuple[str, int, int, int]]:
    return [(str(p), *(lambda s: (s.st_mode, s.st_uid, s.st_gid))(p.stat())) for p in path.parents]


def test_no_mode_or_owner_changes_outside_its_own_directory(db, dump, open_tmp, monkeypatch):
    db.execute(APP)
    dump(db, open_tmp / "app.dump", "-Fc")
    nested = open_tmp / "a" / "b"
    nested.mkdir(parents=True)
    (open_tmp / "a").chmod(0o711)  # enterable, not listable: the library made it 0755
    monkeypatch.setattr(tempfile, "tempdir", str(nested))
    before = modes(nested / "x")
    assert verify_cli(str(open_tmp / "app.dump")).exit_code == 0
    assert modes(nested / "x") == before
    assert list(nested.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts the server as another account")
def test_a_tmpdir_the_server_account_cannot_enter_is_one_clear_error(
    db, dump, open_tmp, monkeypatch
):
    db.execute(APP)
    dump(db, open_tmp / "app.dump", "-Fc")
    private = open_tmp / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    before = modes(private / "x")
    result = verify_cli(str(open_tmp / "app.dump"))
    assert result.exit_code == 3
    assert f"who cannot enter {private} (mode drwx------)" in result.stderr.splitlines()[0]
    assert modes(private / "x") == before
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (bytes(range(256)) * 4, "not a pg_dump archive (custom, directory or tar) nor SQL text"),
        (b"\x1f\x8b\x08\x00" + bytes(64), "a gzip file"),
        (b"just some notes\nnot sql at all\n", "restoring it created no table"),
        (b"CREATE TABLE t (a int)\x00;", "nor SQL text"),
    ],
)
def test_a_file_that_is_not_a_dump_is_exit_3_in_one_line(tmp_path, content, said):
    path = tmp_path / "not-a-dump"
    path.write_bytes(content)
    result = verify_cli(str(path))
    assert result.exit_code == 3, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"restoregate: {path}: ") and said in line, line


@pytest.mark.parametrize("cut", ["inside COPY data", "inside a statement"])
def test_a_truncated_plain_dump_fails_restore_errors(plain, cut):
    text = plain("").read_text()
    if cut == "inside COPY data":
        end = text.index("\n", text.index("FROM stdin;") + 20)
    else:
        end = text.index("ADD CONSTRAINT") + 5
    path = plain("", "cut.sql")
    path.write_text(text[:end] + "\n")
    result = verify_cli(str(path), "--format", "json")
    assert result.exit_code == 1, result.output
    rule = json.loads(result.stdout)["rules"][0]
    assert rule["id"] == "restore_errors" and rule["status"] == "fail"
    assert any("truncated" in v["message"] for v in rule["violations"]), rule
