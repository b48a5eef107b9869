"""dvdrental restored on PostgreSQL, MariaDB and SQLite: clean, and with the three faults.

Two days of the same shop: Monday is the sample as shipped; on Tuesday a third store
opens (an address, a manager, 40 films of stock, 10 customers who rent 20 films and pay
for them) and customers 1 and 2 are erased with their rentals and payments. Each day is
carried to MariaDB and SQLite by ``benchmarks.migrate`` and dumped the engine's own way
(``pg_dump -Fc``, ``mariadb-dump``, ``.dump``). A restore takes every table from
Tuesday's dump except the ones a fault takes from Monday's, and loads the data with
foreign key checks off (``pg_restore --data-only --disable-triggers`` into the schema;
mariadb-dump's ``FOREIGN_KEY_CHECKS=0``; SQLite never enforces them unless asked):

- clean: nothing from Monday: exit 0;
- seed: ``store`` from Monday. ``store_id`` (declared nowhere) → ``store``: 10 customers,
  40 inventory rows and 1 staff member at store 3, strong evidence; the store counter
  (next 3) is behind them;
- counter-reset: ``customer`` from Monday, with its counter. 20 rentals and 20 payments
  of customers 600..609, all reassignable: the customer counter hands out 600 next;
- fk-checks-off: ``rental`` and ``payment`` from Monday. 59 rentals and 56 payments of
  the erased customers 1 and 2, none reassignable; the counters are fine.
"""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from benchmarks import migrate

TUESDAY = """
INSERT INTO address (address, district, city_id, phone)
  VALUES ('47 MySakila Drive', 'Alberta', 300, '555-0100');
INSERT INTO staff (first_name, last_name, address_id, store_id, username)
  VALUES ('Ada', 'Tuesday', (SELECT max(address_id) FROM address),
          nextval('store_store_id_seq'), 'Ada');
INSERT INTO store (store_id, manager_staff_id, address_id)
  VALUES (currval('store_store_id_seq'), (SELECT max(staff_id) FROM staff),
          (SELECT max(address_id) FROM address));
INSERT INTO inventory (film_id, store_id)
  SELECT film_id, currval('store_store_id_seq') FROM film WHERE film_id <= 40 ORDER BY film_id;
INSERT INTO customer (store_id, first_name, last_name, address_id, active)
  SELECT currval('store_store_id_seq'), 'Customer' || g, 'Tuesday',
         (SELECT max(address_id) FROM address), 1
  FROM generate_series(1, 10) AS g;
INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id)
  SELECT timestamp '2006-02-15 10:00' + g * interval '1 hour',
         (SELECT max(inventory_id) FROM inventory) - g,
         (SELECT max(customer_id) FROM customer) - g % 10,
         (SELECT max(staff_id) FROM staff)
  FROM generate_series(1, 20) AS g;
INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date)
  SELECT customer_id, staff_id, rental_id, 2.99, rental_date FROM rental
  WHERE customer_id IN (SELECT customer_id FROM customer WHERE last_name = 'Tuesday')
  ORDER BY rental_id;
DELETE FROM payment WHERE customer_id IN (1, 2);
DELETE FROM rental WHERE customer_id IN (1, 2);
DELETE FROM customer WHERE customer_id IN (1, 2);
"""

# restore name -> the tables taken from Monday's dump
FAULTS: dict[str, tuple[str, ...]] = {
    "clean": (),
    "seed": ("store",),
    "counter-reset": ("customer",),
    "fk-checks-off": ("rental", "payment"),
}
DAYS = ("monday", "tuesday")


def tarball() -> Path | None:
    found = migrate.samples_dir()
    path = found / "dvdrental" / "dvdrental.tar" if found else None
    return path if path and path.is_file() else None


def run(command: Sequence[str | Path], **kwargs: Any) -> None:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=300, **kwargs
    )
    if result.returncode != 0:
        raise RuntimeError(f"{Path(str(command[0])).name} failed: {result.stderr.strip()[-500:]}")


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass
class Tools:
    pg_dump: Path
    pg_restore: Path


# ------------------------------------------------------------------------------ PostgreSQL


class PgDays:
    """Monday's and Tuesday's dvdrental on one PostgreSQL server, with their dumps."""

    def __init__(self, admin_dsn: str, tools: Tools, workdir: Path) -> None:
        self.admin_dsn, self.tools, self.workdir = admin_dsn, tools, workdir
        self.made: list[str] = []
        self.days: dict[str, str] = {}  # day -> database name
        self.dumps: dict[str, Path] = {}
        archive = tarball()
        if archive is None:
            raise RuntimeError("the dvdrental sample is not there")
        try:
            self._build(archive)
        except BaseException:
            self.drop_all()  # nobody else holds these names yet
            raise

    def _build(self, archive: Path) -> None:
        tools, workdir = self.tools, self.workdir
        for day in DAYS:
            name = self.create(f"rg_dvd_{day[:3]}")
            with psycopg.connect(self.dsn(name), autocommit=True) as conn:
                conn.execute(b"DROP SCHEMA public")  # the archive creates it
            run([tools.pg_restore, "--no-owner", "--no-acl", "-d", self.dsn(name), archive])
            if day == "tuesday":
                with psycopg.connect(self.dsn(name), autocommit=True) as conn:
                    conn.execute(TUESDAY.encode())
            with psycopg.connect(self.dsn(name), autocommit=True) as conn:
                conn.execute(b"VACUUM ANALYZE")
            self.days[day] = name
            self.dumps[day] = workdir / f"{name}.dump"
            run([tools.pg_dump, "-Fc", "-f", self.dumps[day], self.dsn(name)])

    def dsn(self, name: str) -> str:
        return make_conninfo(self.admin_dsn, dbname=name)

    def create(self, prefix: str) -> str:
        name = unique(prefix)
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        self.made.append(name)
        return name

    def sequences(self) -> dict[str, str]:
        """table -> the sequence feeding its key (restored with the table's data)."""
        with psycopg.connect(self.dsn(self.days["monday"])) as conn:
            tables = migrate.read_catalog(conn)
        return {t.name: t.sequence for t in tables if t.sequence}

    def restore(self, fault: str) -> str:
        """A database restored from the two days' dumps as ``fault`` says; its DSN."""
        name = self.create(f"rg_dvd_{fault.replace('-', '_')[:8]}")
        target = self.dsn(name)
        restore: list[str | Path] = [self.tools.pg_restore, "--no-owner", "--no-acl", "-d", target]
        run([*restore, "--section=pre-data", "--section=post-data", self.dumps["tuesday"]])
        sequences = self.sequences()
        with psycopg.connect(self.dsn(self.days["monday"])) as conn:
            everything = [t.name for t in migrate.read_catalog(conn)]
        older = set(FAULTS[fault])
        for day, tables in (
            ("monday", sorted(older)),
            ("tuesday", [t for t in everything if t not in older]),
        ):
            if not tables:
                continue
            names = [*tables, *(sequences[t] for t in tables if t in sequences)]
            selected = [arg for n in names for arg in ("-t", n.split(".")[-1].strip('"'))]
            run([*restore, "--data-only", "--disable-triggers", *selected, self.dumps[day]])
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(b"ANALYZE")
        return target

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for name in reversed(self.made):
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(statement.format(sql.Identifier(name)))
        self.made.clear()


# ------------------------------------------------------------------------------ MariaDB


@dataclass
class MyServer:
    host: str
    port: int
    user: str
    password: str

    def connect(self, database: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            connect_timeout=3,
        )

    def client(self, tool: str) -> list[str]:
        args = [tool, f"--host={self.host}", f"--port={self.port}", f"--user={self.user}"]
        return [*args, f"--password={self.password}"] if self.password else args

    def create_database(self, prefix: str) -> str:
        """A new database named ``prefix`` and a unique suffix; its name."""
        name = unique(prefix)
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}`")
        finally:
            conn.close()
        return name


class MyDays:
    """Both days carried to MariaDB (or MySQL) by the converter, dumped with mariadb-dump."""

    def __init__(self, pg: PgDays, server: MyServer, dump_tool: str, client_tool: str) -> None:
        self.server, self.dump_tool, self.client_tool = server, dump_tool, client_tool
        self.made: list[str] = []
        self.days: dict[str, str] = {}
        try:
            self._build(pg)
        except BaseException:
            self.drop_all()
            raise
        self.workdir = pg.workdir

    def _build(self, pg: PgDays) -> None:
        for day in DAYS:
            name = self.create(f"rg_dvd_{day[:3]}")
            target = self.server.connect(name)
            try:
                with psycopg.connect(pg.dsn(pg.days[day])) as source:
                    migrate.to_mysql(source, target)
            finally:
                target.close()
            self.days[day] = name
        with psycopg.connect(pg.dsn(pg.days["monday"])) as conn:
            self.tables = [t.name for t in migrate.read_catalog(conn)]

    def create(self, prefix: str) -> str:
        name = self.server.create_database(prefix)
        self.made.append(name)
        return name

    def dsn(self, name: str) -> str:
        auth = self.server.user + (f":{self.server.password}" if self.server.password else "")
        return f"mysql://{auth}@{self.server.host}:{self.server.port}/{name}"

    def restore(self, fault: str) -> str:
        name = self.create(f"rg_dvd_{fault.replace('-', '_')[:8]}")
        script = self.workdir / f"{name}.sql"
        older = set(FAULTS[fault])
        with script.open("w") as out:
            for day, tables in (
                ("tuesday", [t for t in self.tables if t not in older]),
                ("monday", sorted(older)),
            ):
                if tables:
                    command = [*self.server.client(self.dump_tool), self.days[day], *tables]
                    result = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True)
                    if result.returncode != 0:
                        raise RuntimeError(f"{self.dump_tool} failed: {result.stderr.strip()}")
        with script.open() as source:
            run([*self.server.client(self.client_tool), name], stdin=source)
        return self.dsn(name)

    def drop_all(self) -> None:
        conn = self.server.connect()
        try:
            with conn.cursor() as cur:
                for name in self.made:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()
        self.made.clear()


# ------------------------------------------------------------------------------ SQLite


class SqliteDays:
    """Both days carried to SQLite files by the converter; restores replay ``.dump`` text."""

    def __init__(self, pg: PgDays, workdir: Path) -> None:
        self.workdir = workdir
        self.days: dict[str, Path] = {}
        for day in DAYS:
            path = workdir / f"dvdrental-{day}.db"
            path.unlink(missing_ok=True)
            with psycopg.connect(pg.dsn(pg.days[day])) as source:
                migrate.to_sqlite(source, path)
            self.days[day] = path

    def dump(self, day: str) -> list[str]:
        conn = sqlite3.connect(self.days[day])
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    def restore(self, fault: str) -> str:
        older = {f'INSERT INTO "{t}" ' for t in FAULTS[fault]}
        tuesday = [s for s in self.dump("tuesday") if not s.startswith(tuple(older) or ("\0",))]
        monday = [s for s in self.dump("monday") if s.startswith(tuple(older) or ("\0",))]
        path = self.workdir / f"{unique('dvdrental-' + fault)}.db"
        # the schema and Tuesday's rows, then Monday's rows of the older tables, before COMMIT
        script = [s for s in tuesday if s != "COMMIT;"] + monday + ["COMMIT;"]
        conn = sqlite3.connect(path)
        try:
            conn.executescript("\n".join(script))
        finally:
            conn.close()
        return f"sqlite:///{path}"
