"""``restoregate fix`` and ``fence`` on a real MariaDB/MySQL server (skipped when none answers).

MySQL commits DDL at once, so these tests pin down what the plan promises instead of a
rollback: it computes its targets when it runs, never moves a counter backwards, changes
nothing the second time, refuses before its first statement when a privilege is
missing, and the fence (ACCOUNT LOCK) comes off only when the gate opens.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import pymysql
import pytest
from click.testing import CliRunner

from restoregate import remediation
from restoregate.cli import cli
from restoregate.remedy.plan import QUARANTINE_SCHEMA
from tests.gate import gate, rule
from tests.mysqltest import MyDatabase, admin, databases, server_answers
from tests.test_mysql import ACCOUNTS, SIGNUPS

pytestmark = pytest.mark.skipif(not server_answers(), reason="no MySQL/MariaDB server answers")

# the pre-8 counter reset: accounts' AUTO_INCREMENT behind journals.user_id (306)
RESET = (
    ACCOUNTS + SIGNUPS + "ALTER TABLE journals ADD CONSTRAINT journals_user FOREIGN KEY (user_id)"
    " REFERENCES accounts (id);"
    " SET FOREIGN_KEY_CHECKS = 0; DELETE FROM accounts WHERE id > 290;"
    " ALTER TABLE accounts AUTO_INCREMENT = 1;"
)
SEQUENCE = (
    "CREATE SEQUENCE invoice_seq START WITH 1 CACHE 10;"
    "CREATE TABLE invoices (id bigint NOT NULL DEFAULT NEXT VALUE FOR invoice_seq"
    " PRIMARY KEY, total int);"
    "INSERT INTO invoices (total) VALUES (1), (2), (3);"
    "INSERT INTO invoices (id, total) VALUES (500, 4);"
    "SELECT SETVAL(invoice_seq, 40, 0);"
)
WRITER_GRANTS = "SELECT, ALTER, LOCK TABLES, INSERT, DELETE"


@pytest.fixture
def new_mydb():
    yield from databases(admin())


@pytest.fixture
def mydb(new_mydb):
    return new_mydb()


@pytest.fixture
def mariadb(mydb):
    if "mariadb" not in str(mydb.scalar("SELECT VERSION()")).lower():
        pytest.skip("SEQUENCE objects and this server's account table are MariaDB's")
    return mydb


def root_dsn(db: MyDatabase) -> str:
    server = db.server
    password = f":{server.password}" if server.password else ""
    return f"mysql://{server.user}{password}@{server.host}:{server.port}/{db.name}"


def grant(db: MyDatabase, privileges: str) -> None:
    conn = db.server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"GRANT {privileges} ON `{db.name}`.* TO %s@'%%'", (db.user,))
    finally:
        conn.close()


def counter(db: MyDatabase, table: str) -> int:
    return int(
        db.scalar(
            "SELECT AUTO_INCREMENT FROM information_schema.TABLES"
            f" WHERE TABLE_SCHEMA = '{db.name}' AND TABLE_NAME = '{table}'"
        )
    )


def rows(db: MyDatabase) -> dict[str, int]:
    return {t: int(db.scalar(f"SELECT count(*) FROM `{t}`")) for t in ("accounts", "journals")}


def run(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_the_plan_run_with_the_mariadb_client_fixes_both_kinds_and_is_idempotent(mariadb, tmp_path):
    mariadb.execute(RESET + SEQUENCE)
    before = rows(mariadb)
    plan = tmp_path / "plan.sql"
    written = run("fix", "--dsn", mariadb.dsn, "-o", str(plan))
    assert written.exit_code == 1, written.output
    assert "wrote" in written.stderr and "2 sequences to move" in written.stderr
    text = plan.read_text()
    assert "Run it with mariadb (it stops at the first error). DDL commits at once" in text
    assert f"ALTER TABLE `{mariadb.name}`.`accounts` AUTO_INCREMENT = " in text
    assert f"DO SETVAL(`{mariadb.name}`.`invoice_seq`, " in text
    assert "Inserts into those tables wait until UNLOCK TABLES." in text

    mariadb.load(plan)  # the mariadb client, as the DBA runs it
    assert counter(mariadb, "accounts") == 306 + 1 + 1000, "beyond journals.user_id too"
    assert int(mariadb.scalar("SELECT next_not_cached_value FROM invoice_seq")) == 1501
    assert rows(mariadb) == before, "a move touches no row"
    assert rule(gate(mariadb.dsn), "sequences").status == "pass"

    fingerprint = mariadb.fingerprint()
    mariadb.load(plan)  # the same plan again: nothing to do
    assert mariadb.fingerprint() == fingerprint


def test_apply_moves_what_the_plan_says_and_the_recheck_passes(mariadb):
    mariadb.execute(RESET + SEQUENCE)
    grant(mariadb, WRITER_GRANTS)
    result = run("fix", "--dsn", mariadb.dsn, "--apply", "--yes")
    assert result.exit_code == 0, result.output
    assert f"restoregate: {mariadb.name}.accounts moved from 291 to 1307 (largest key 306)" in (
        result.stderr
    )
    assert "re-run after it, in a new snapshot" in result.stdout
    assert "COMMITTED" in result.stderr
    assert counter(mariadb, "accounts") == 1307
    again = run("fix", "--dsn", mariadb.dsn, "--apply", "--yes")
    assert "sequences to move" not in again.output and counter(mariadb, "accounts") == 1307
    assert rule(gate(mariadb.dsn), "sequences").status == "pass"


def test_a_counter_is_never_moved_backwards(mydb):
    """The check saw it behind; by the time the plan runs it is far ahead: left alone."""
    mydb.execute(RESET)
    grant(mydb, WRITER_GRANTS)
    found = remediation.fix(mydb.dsn)
    mydb.execute("ALTER TABLE accounts AUTO_INCREMENT = 50000")
    heard: list[str] = []
    applied = remediation.apply_fix(mydb.dsn, found, notice=heard.append)
    assert applied.passed and not applied.transactional
    assert counter(mydb, "accounts") == 50000
    assert any("already hands out 50000 next, beyond 306: left as it is" in h for h in heard)


def test_the_target_is_computed_when_the_plan_runs(mydb, tmp_path):
    mydb.execute(RESET)
    plan = tmp_path / "plan.sql"
    assert run("fix", "--dsn", mydb.dsn, "-o", str(plan)).exit_code == 1
    mydb.execute(
        "SET FOREIGN_KEY_CHECKS = 0; INSERT INTO journals (user_id, title) VALUES (5000, 'x')"
    )
    mydb.load(plan)
    assert counter(mydb, "accounts") == 5000 + 1 + 1000


def test_missing_privileges_refuse_with_exit_2_before_anything_runs(mydb):
    mydb.execute(RESET)  # the test account holds SELECT only
    before = mydb.fingerprint()
    result = run("fix", "--dsn", mydb.dsn, "--apply", "--yes")
    assert result.exit_code == 2, result.output
    assert f"lacks ALTER on `{mydb.name}`.`accounts`, needed to ALTER TABLE" in result.stderr
    assert "nothing has run yet" in result.stderr
    assert mydb.fingerprint() == before
    grant(mydb, "SELECT, ALTER")  # LOCK TABLES still missing
    result = run("fix", "--dsn", mydb.dsn, "--apply", "--yes")
    assert result.exit_code == 2
    assert f"LOCK TABLES on `{mydb.name}`.*" in result.stderr
    assert mydb.fingerprint() == before


def test_dry_run_is_refused_because_ddl_cannot_be_rolled_back(mydb):
    mydb.execute(RESET)
    grant(mydb, WRITER_GRANTS)
    result = run("fix", "--dsn", mydb.dsn, "--dry-run")
    assert result.exit_code == 2, result.output
    assert "fix --dry-run is not possible on mariadb" in result.stderr or (
        "fix --dry-run is not possible on mysql" in result.stderr
    )
    assert counter(mydb, "accounts") == 291


def test_a_failing_recheck_after_apply_is_exit_1_and_what_ran_stays(mydb):
    """A counter fell behind after the plan was written: the re-check fails, no rollback."""
    mydb.execute(RESET)
    grant(mydb, WRITER_GRANTS)
    found = remediation.fix(mydb.dsn)
    mydb.execute(
        "CREATE TABLE later (id int NOT NULL AUTO_INCREMENT PRIMARY KEY);"
        "CREATE TABLE later_child (later_id int, FOREIGN KEY (later_id) REFERENCES later (id));"
        "INSERT INTO later VALUES (1), (2);"
        "SET FOREIGN_KEY_CHECKS = 0; INSERT INTO later_child VALUES (90);"
    )
    applied = remediation.apply_fix(mydb.dsn, found, notice=lambda _: None)
    assert applied.committed and not applied.transactional
    assert not applied.passed and applied.exit_code == 1
    assert counter(mydb, "accounts") == 1307, "DDL committed at once: the move stays"
    assert "later" in " ".join(v.describe() for v in rule(applied.recheck, "sequences").violations)


def _rules(text: str) -> Any:
    import textwrap

    from restoregate.rules.loader import load_rules_text

    return load_rules_text(textwrap.dedent(text), "test.yaml")


def _drop_quarantine(db: MyDatabase) -> None:
    """Only this test's table: the quarantine database is shared with other sessions."""
    conn = db.server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS `{QUARANTINE_SCHEMA}`.`{db.name}__journals`")
    finally:
        conn.close()


def test_quarantine_moves_the_orphans_aside_in_one_transaction(mydb):
    mydb.execute(RESET)
    grant(mydb, WRITER_GRANTS)
    try:
        conn = mydb.server.connect()
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{QUARANTINE_SCHEMA}`")
            cur.execute(
                f"GRANT CREATE, INSERT, SELECT ON `{QUARANTINE_SCHEMA}`.* TO %s@'%%'", (mydb.user,)
            )
        conn.close()
        result = run("fix", "--dsn", mydb.dsn, "--orphans", "quarantine", "--apply", "--yes")
        assert result.exit_code == 0, result.output
        assert "16 orphaned row(s) moved to restoregate_quarantine." in result.stderr
        assert rows(mydb) == {"accounts": 290, "journals": 290}
        moved = mydb.scalar(
            f"SELECT COUNT(*) FROM `{QUARANTINE_SCHEMA}`.`{mydb.name}__journals`"
            " WHERE restoregate_reference LIKE 'foreign key journals_user%'"
            " AND restoregate_quarantined_at IS NOT NULL AND user_id > 290"
        )
        assert moved == 16
        assert run("check", "--dsn", mydb.dsn).exit_code == 0
    finally:
        _drop_quarantine(mydb)
        conn = mydb.server.connect()
        with conn.cursor() as cur:
            cur.execute(f"REVOKE ALL ON `{QUARANTINE_SCHEMA}`.* FROM %s@'%%'", (mydb.user,))
        conn.close()


def test_a_concurrent_inserter_during_apply_never_collides(mydb):
    """Inserts wait for LOCK TABLES, then continue beyond every key and the headroom."""
    mydb.execute(RESET)
    grant(mydb, WRITER_GRANTS)
    found = remediation.fix(mydb.dsn)
    errors: list[str] = []
    inserted: list[int] = []
    stop = threading.Event()

    def insert() -> None:
        conn = mydb.server.connect(mydb.name)
        try:
            with conn.cursor() as cur:
                while not stop.is_set():
                    try:
                        cur.execute("INSERT INTO accounts (email) VALUES (UUID())")
                        inserted.append(int(cur.lastrowid))
                    except pymysql.MySQLError as exc:
                        errors.append(str(exc))
                    # slow enough that the plan's 16 colliding inserts are not all made
                    # before apply_fix takes its lock (the move is then not needed)
                    time.sleep(0.01)
        finally:
            conn.close()

    worker = threading.Thread(target=insert)
    worker.start()
    try:
        while len(inserted) < 5:
            time.sleep(0.01)
        applied = remediation.apply_fix(mydb.dsn, found, notice=lambda _: None)
        during = len(inserted)
        while len(inserted) < during + 5:
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join()
    assert applied.committed and applied.passed
    assert errors == []
    assert len(set(inserted)) == len(inserted), "no key handed out twice"
    after = inserted[during:]
    assert min(after) > 1000, "inserts after the move start beyond the headroom"
    assert rule(gate(mydb.dsn), "sequences").status == "pass"


def test_hostile_names_stay_names_in_the_plan_and_the_client(mydb, tmp_path):
    marker = Path(f"rg_pwned_{uuid.uuid4().hex[:8]}")  # the client's cwd is the test's
    name = "we`ird'\\\\ \\! touch " + marker.name
    quoted = "`" + name.replace("`", "``") + "`"
    column = "`k``'\\\\ \\! touch " + marker.name + "`"
    mydb.execute(
        f"CREATE TABLE {quoted} (id int NOT NULL AUTO_INCREMENT PRIMARY KEY);"
        f"CREATE TABLE c ({column} int, FOREIGN KEY ({column}) REFERENCES {quoted} (id));"
        f"INSERT INTO {quoted} VALUES (1), (2);"
        "SET FOREIGN_KEY_CHECKS = 0; INSERT INTO c VALUES (50);"
    )
    plan = tmp_path / "plan.sql"
    assert run("fix", "--dsn", mydb.dsn, "-o", str(plan)).exit_code == 1
    mydb.load(plan)
    assert not marker.exists()
    assert counter(mydb, name.replace("\\", "\\\\").replace("'", "\\'")) == 1051
    assert rule(gate(mydb.dsn), "sequences").status == "pass"


# ---- the fence ----------------------------------------------------------------------------


@pytest.fixture
def accounts(mydb):
    """Make accounts 'name'@'%' with a password; drop them (and their fence rows) after."""
    made: list[str] = []

    def make(locked: bool = False) -> tuple[str, str]:
        name, password = f"rg_app_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
        lock = " ACCOUNT LOCK" if locked else ""
        _admin(mydb, f"CREATE USER %s@'%%' IDENTIFIED BY %s{lock}", (name, password))
        made.append(name)
        return name, password

    yield make
    for name in made:
        _admin(mydb, "DROP USER IF EXISTS %s@'%%'", (name,))
        with suppress(pymysql.MySQLError):  # no fence table: nothing recorded
            _admin(mydb, "DELETE FROM restoregate.fence WHERE user_name = %s", (name,))


def _admin(db: MyDatabase, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = db.server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(query, params or None)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def can_log_in(db: MyDatabase, name: str, password: str) -> bool:
    try:
        pymysql.connect(
            host=db.server.host,
            port=db.server.port,
            user=name,
            password=password,
            connect_timeout=3,
        ).close()
    except pymysql.MySQLError as exc:
        assert "locked" in str(exc).lower(), exc
        return False
    return True


def account_state(db: MyDatabase, name: str) -> str:
    return str(_admin(db, "SHOW CREATE USER %s@'%%'", (name,))[0][0])


def test_the_fence_holds_while_the_gate_is_closed_and_release_restores_exactly(mariadb, accounts):
    (app, password), (other, other_password) = accounts(), accounts()
    mariadb.execute(RESET)
    admin_dsn = root_dsn(mariadb)
    before, other_before = account_state(mariadb, app), account_state(mariadb, other)
    assert can_log_in(mariadb, app, password)

    _admin(mariadb, "CREATE USER %s@'localhost' IDENTIFIED BY 'x'", (app,))
    try:
        locked = run("fence", "lock", app, "--dsn", admin_dsn)
    finally:
        _admin(mariadb, "DROP USER %s@'localhost'", (app,))
    assert locked.exit_code == 0, locked.output
    assert f"fenced: {app} cannot log in (ACCOUNT LOCK)" in locked.output
    assert f"note: {app}@localhost is another account of that name; it is not fenced" in (
        locked.output
    )
    assert not can_log_in(mariadb, app, password)
    status = run("fence", "status", "--dsn", admin_dsn)
    assert f"{app}@%: fenced since" in status.output

    closed = run("check", "--dsn", admin_dsn, "--release", app)
    assert closed.exit_code == 1
    assert f"fence stays up: {app} cannot log in" in closed.output
    assert not can_log_in(mariadb, app, password)

    assert (
        run("fix", "--dsn", admin_dsn, "--apply", "--yes", "--orphans", "quarantine").exit_code == 0
    )
    try:
        opened = run("check", "--dsn", admin_dsn, "--release", app)
        assert opened.exit_code == 0, opened.output
        assert f"fence lifted: {app} can log in again" in opened.output
        assert can_log_in(mariadb, app, password)
        assert account_state(mariadb, app) == before, "unlocked, nothing else changed"
        assert account_state(mariadb, other) == other_before
        assert can_log_in(mariadb, other, other_password)
        assert not _admin(mariadb, "SELECT 1 FROM restoregate.fence WHERE user_name = %s", (app,))
    finally:
        _drop_quarantine(mariadb)


def test_an_account_locked_before_the_fence_stays_locked_after_release(mariadb, accounts):
    (app, password) = accounts(locked=True)
    mariadb.execute("CREATE TABLE ok (id int AUTO_INCREMENT PRIMARY KEY)")
    admin_dsn = root_dsn(mariadb)
    locked = run("fence", "lock", f"{app}@%", "--dsn", admin_dsn)
    assert locked.exit_code == 0, locked.output
    assert "could not log in already; recorded" in locked.output
    opened = run("check", "--dsn", admin_dsn, "--release", f"{app}@%")
    assert opened.exit_code == 0, opened.output
    assert "stays ACCOUNT LOCK, as it was before" in opened.output
    assert not can_log_in(mariadb, app, password)


def test_fence_unlock_needs_force_and_lifts_without_the_gate(mariadb, accounts):
    app, password = accounts()
    mariadb.execute(RESET)
    admin_dsn = root_dsn(mariadb)
    assert run("fence", "lock", app, "--dsn", admin_dsn).exit_code == 0
    refused = run("fence", "unlock", app, "--dsn", admin_dsn)
    assert refused.exit_code == 2 and not can_log_in(mariadb, app, password)
    lifted = run("fence", "unlock", app, "--force", "--dsn", admin_dsn)
    assert lifted.exit_code == 0, lifted.output
    assert can_log_in(mariadb, app, password)


def test_fence_without_the_privilege_is_exit_2_and_changes_nothing(mariadb, accounts):
    app, password = accounts()
    mariadb.execute(RESET)
    result = run("fence", "lock", app, "--dsn", mariadb.dsn)  # SELECT on one database only
    assert result.exit_code == 2, result.output
    assert "CREATE USER" in result.stderr
    assert can_log_in(mariadb, app, password)


def test_fence_refuses_unknown_accounts_and_itself(mariadb):
    admin_dsn = root_dsn(mariadb)
    unknown = run("fence", "lock", "rg_nobody_here", "--dsn", admin_dsn)
    assert unknown.exit_code == 2 and "no such role: rg_nobody_here" in unknown.stderr
    me = str(_admin(mariadb, "SELECT CURRENT_USER()")[0][0])
    itself = run("fence", "lock", me, "--dsn", admin_dsn)
    assert itself.exit_code == 2 and "it is the role this session runs as" in itself.stderr


def test_a_plan_file_runs_as_the_dba_wrote_it(mydb, tmp_path: Path):
    """The text goes to stdout without -o, the summary to stderr."""
    mydb.execute(RESET)
    result = run("fix", "--dsn", mydb.dsn)
    assert result.exit_code == 1
    assert result.stdout.startswith("-- restoregate fix plan for mysql://")
    assert "plan: 1 sequence to move" in result.stderr


def test_no_room_left_when_the_plan_runs_stops_it_with_a_clear_error(mariadb):
    """Room when planned; a key at the column's limit by the time it runs: SIGNAL, exit 3."""
    mariadb.execute(
        "CREATE TABLE small (id tinyint NOT NULL AUTO_INCREMENT PRIMARY KEY);"
        "CREATE TABLE refs (small_id tinyint, FOREIGN KEY (small_id) REFERENCES small (id));"
        "INSERT INTO small VALUES (1), (2);"
        "SET FOREIGN_KEY_CHECKS = 0; INSERT INTO refs VALUES (50);"
    )
    grant(mariadb, WRITER_GRANTS)
    found = remediation.fix(mariadb.dsn)
    assert found.plan.moves
    mariadb.execute("SET FOREIGN_KEY_CHECKS = 0; INSERT INTO refs VALUES (127)")
    with pytest.raises(Exception) as failed:
        remediation.apply_fix(mariadb.dsn, found, notice=lambda _: None)
    assert "cannot move beyond the largest key: no value is left before 127" in str(failed.value)
    assert getattr(failed.value, "exit_code", None) == 3
    assert counter(mariadb, "small") == 3, "nothing moved"
