"""MySQL/MariaDB syntax for fix plans: backtick-quoted names, targets computed at apply time.

``ALTER TABLE … AUTO_INCREMENT = N`` (and MariaDB's ``SETVAL``) take a number, not an
expression, so a move is a short run of statements: ``LOCK TABLES`` on every table whose
keys it must pass (inserts wait until ``UNLOCK TABLES``), the largest key into a user
variable, the counter's position into another, then the statement built with ``CONCAT``
from that number and run with ``PREPARE``/``EXECUTE``. ``'DO 0'`` is prepared instead when
the counter already hands out a value beyond every key (never backwards; a second run
changes nothing), a failure (``_failure``) when no value is left before the column's limit.

Names are quoted with backticks (a backtick doubled); inside a string literal (the text
of the prepared statement) ``'`` and ``\\`` are doubled too, after the plan pins
``sql_mode`` to one without ``NO_BACKSLASH_ESCAPES`` or ``ANSI_QUOTES``.

DDL commits implicitly in MySQL: a moved counter cannot be rolled back, and this plan
does not pretend it can (``transactional = False``). Only the quarantine of orphans is
one transaction (InnoDB): the copy and the delete together or not at all.
"""

from __future__ import annotations

import math

from restoregate.catalog import Catalog, Reference
from restoregate.engines.mysql.catalog_loader import quote, table_sql
from restoregate.names import QualifiedName
from restoregate.remedy.plan import QUARANTINE_SCHEMA, MoveSequence, OrphanStep, Plan
from restoregate.settings import SessionSettings

# the session the plan runs in: no NO_BACKSLASH_ESCAPES or ANSI_QUOTES, strict, UTC
SQL_MODE = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION"


def literal(text: str) -> str:
    """A string literal under the plan's own sql_mode (set before any literal is read)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


class MysqlPlanWriter:
    transactional = False  # DDL commits at once: the moves cannot be rolled back

    def __init__(self, settings: SessionSettings, mariadb: bool, catalog: Catalog) -> None:
        self._settings = settings
        self._mariadb = mariadb
        self._catalog = catalog
        self.client = "mariadb" if mariadb else "mysql"

    def prelude(self) -> list[str]:
        return []

    def settings(self) -> list[str]:
        lock_s = max(1, math.ceil(self._settings.lock_timeout_ms / 1000))
        out = [
            f"SET SESSION sql_mode = '{SQL_MODE}', time_zone = '+00:00',"
            f" lock_wait_timeout = {lock_s}, innodb_lock_wait_timeout = {lock_s},"
            " foreign_key_checks = 1;",
            "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
        ]
        if self._mariadb:
            seconds = self._settings.statement_timeout_ms / 1000
            out.append(f"SET SESSION max_statement_time = {seconds:g};")
        else:
            out.append(
                f"SET SESSION max_execution_time = {int(self._settings.statement_timeout_ms)},"
                " information_schema_stats_expiry = 0;"
            )
        return out

    def holds_inserts(self) -> str:
        return "Inserts into those tables wait until UNLOCK TABLES."

    def move_sequence(self, step: MoveSequence) -> list[str]:
        seq = self._catalog.sequences.get(step.sequence)
        counter = seq is None or seq.kind == "auto_increment"
        asc = step.ascending
        pick, rounding = ("MAX", "CEILING") if asc else ("MIN", "FLOOR")
        aliases = [f"rg_key{i}" for i in range(1, len(step.keys) + 1)]
        tables = list(dict.fromkeys(k.table for k in step.locked))
        if not counter:
            tables.insert(0, step.sequence)
        locks = [f"{table_sql(t)} WRITE" for t in tables]
        # a table may appear more than once (a self-reference): each use is an alias,
        # and LOCK TABLES must name every alias a statement under it uses
        locks += [
            f"{table_sql(k.table)} AS {a} READ" for k, a in zip(step.keys, aliases, strict=True)
        ]
        keys = "\n      UNION ALL ".join(
            f"SELECT {pick}({quote(k.column)}) AS k FROM {table_sql(k.table)} AS {a}"
            for k, a in zip(step.keys, aliases, strict=True)
        )
        name = str(step.sequence)
        if counter:
            position = (
                "SELECT AUTO_INCREMENT, 1, 1, 0 INTO @rg_next, @rg_first, @rg_step, @rg_cycle"
                " FROM information_schema.TABLES"
                f" WHERE TABLE_SCHEMA = {literal(step.sequence.schema)}"
                f" AND TABLE_NAME = {literal(step.sequence.name)};"
            )
            move = f"ALTER TABLE {table_sql(step.sequence)} AUTO_INCREMENT = "
        else:
            first = "minimum_value" if asc else "maximum_value"
            position = (
                f"SELECT next_not_cached_value, {first}, increment, cycle_option"
                f" INTO @rg_next, @rg_first, @rg_step, @rg_cycle FROM {table_sql(step.sequence)};"
            )
            move = f"DO SETVAL({table_sql(step.sequence)}, "
        room = (
            f"CEILING(ABS(@rg_largest - @rg_first) * {step.headroom.values} / 100)"
            if step.headroom.percent
            else str(step.headroom.values)
        )
        sign = "" if asc else "-"
        beyond = ">" if asc else "<"
        clamp = "LEAST" if asc else "GREATEST"
        cannot = literal(
            f"restoregate: {name} cannot move beyond the largest key: no value is left"
            f" before {step.limit} (widen the column, then plan again)"
        )
        built = literal(move) + ", @rg_target" + (", ', 0)'" if not counter else "")
        return [
            f"LOCK TABLES {', '.join(locks)};",
            f"SELECT {rounding}({pick}(k)) INTO @rg_largest FROM (\n      {keys}\n) AS rg_keys;",
            position,
            # the next value, wrapped around when a cycling sequence ran past its end
            f"SET @rg_upcoming = IF(@rg_cycle AND @rg_next {beyond} {step.limit},"
            " @rg_first, @rg_next);",
            f"SET @rg_target = {clamp}(CAST(@rg_largest AS DECIMAL(65,0))"
            f" {sign or '+'} (1 + {room}), {step.limit});",
            "SET @rg_sql = CASE"
            f"\n    WHEN @rg_largest IS NULL OR @rg_upcoming {beyond} @rg_largest THEN 'DO 0'"
            f"\n    WHEN NOT @rg_target {beyond} @rg_largest"
            f"\n    THEN {self._failure(cannot)}"
            f"\n    ELSE CONCAT({built}) END;",
            "PREPARE rg_move FROM @rg_sql;",
            "EXECUTE rg_move;",
            "DEALLOCATE PREPARE rg_move;",
            "UNLOCK TABLES;",
            "SELECT CONCAT("
            + literal(f"restoregate: {name} ")
            + ", CASE WHEN @rg_largest IS NULL THEN 'has no keys yet: nothing to move'"
            " WHEN @rg_sql = 'DO 0' THEN CONCAT('already hands out ', @rg_upcoming,"
            " ' next, beyond ', @rg_largest, ': left as it is')"
            " ELSE CONCAT('moved from ', @rg_upcoming, ' to ', @rg_target,"
            " ' (largest key ', @rg_largest, ')') END) AS restoregate;",
        ]

    def list_orphans(self, step: OrphanStep) -> str:
        keys = ", ".join(f"c.{quote(c)}" for c in step.reference.child.columns)
        return f"SELECT c.* {_orphans(step.reference)} ORDER BY {keys};"

    def quarantine(self, step: OrphanStep) -> list[str]:
        assert step.quarantine is not None
        ref, target = step.reference, table_sql(step.quarantine)
        child = table_sql(ref.child.table)
        fail = literal(
            f"restoregate: the orphans of {ref.label} changed while they were moved: rolled back"
        )
        return [
            f"CREATE DATABASE IF NOT EXISTS {quote(QUARANTINE_SCHEMA)};",
            f"CREATE TABLE IF NOT EXISTS {target} ENGINE = InnoDB AS SELECT"
            " CAST(NULL AS DATETIME(6)) AS restoregate_quarantined_at,"
            " CAST(NULL AS CHAR(2000)) AS restoregate_reference,"
            f" c.* FROM {child} AS c WHERE 1 = 0;",
            "START TRANSACTION;",
            # INSERT … SELECT takes shared next-key locks on what it reads (REPEATABLE
            # READ): until COMMIT no orphan can appear, change or gain a parent
            f"INSERT INTO {target} SELECT UTC_TIMESTAMP(6), {literal(ref.label)}, c.*"
            f" {_orphans(ref)};",
            "SET @rg_copied = ROW_COUNT();",
            f"DELETE c {_orphans(ref)};",
            f"SET @rg_sql = IF(ROW_COUNT() = @rg_copied, 'DO 0', {self._failure(fail)});",
            "PREPARE rg_check FROM @rg_sql;",
            "EXECUTE rg_check;",
            "DEALLOCATE PREPARE rg_check;",
            "COMMIT;",
            "SELECT CONCAT("
            + literal(f"restoregate: {ref.label}: ")
            + ", @rg_copied, "
            + literal(f" orphaned row(s) moved to {step.quarantine}")
            + ") AS restoregate;",
        ]

    def commit(self) -> list[str]:
        return []

    def _failure(self, message: str) -> str:
        """The text to PREPARE so that the client stops with ``message``.

        MariaDB prepares ``SIGNAL``; MySQL refuses SIGNAL as a prepared statement, so
        there the message itself is prepared: it is not SQL, PREPARE fails with a syntax
        error quoting it, and the client stops all the same.
        """
        if self._mariadb:
            return f"CONCAT('SIGNAL SQLSTATE ''45000'' SET MESSAGE_TEXT = ', QUOTE({message}))"
        return message


def _orphans(ref: Reference) -> str:
    """``FROM child AS c WHERE <key present> AND NOT EXISTS (<parent>)``: the check's own."""
    present = " AND ".join(f"c.{quote(c)} IS NOT NULL" for c in ref.child.columns)
    match = " AND ".join(
        f"p.{quote(p)} = c.{quote(c)}"
        for c, p in zip(ref.child.columns, ref.parent.columns, strict=True)
    )
    return (
        f"FROM {table_sql(ref.child.table)} AS c WHERE {present} AND NOT EXISTS"
        f" (SELECT 1 FROM {table_sql(ref.parent.table)} AS p WHERE {match})"
    )


# (privilege, database, table or None for the database level, why)
Need = tuple[str, str, "str | None", str]


def needed_privileges(plan: Plan, catalog: Catalog) -> list[Need]:
    needs: list[Need] = []
    for move in plan.moves:
        seq = catalog.sequences.get(move.sequence)
        db, name = move.sequence.schema, move.sequence.name
        if seq is None or seq.kind == "auto_increment":
            needs.append(("ALTER", db, name, "to ALTER TABLE … AUTO_INCREMENT"))
        else:
            needs.append(("INSERT", db, name, "to SETVAL the sequence"))
            needs.append(("SELECT", db, name, "to read its position"))
            needs.append(("LOCK TABLES", db, None, "to hold its nextval off"))
        for key in move.locked:
            s, t = key.table.schema, key.table.name
            needs.append(("SELECT", s, t, "to read its largest key"))
            needs.append(("LOCK TABLES", s, None, "to hold inserts off (LOCK TABLES … WRITE)"))
    for step in plan.orphans:
        if step.quarantine is None:
            continue
        ref, q = step.reference, step.quarantine
        needs.append(("CREATE", q.schema, None, f"to create the {QUARANTINE_SCHEMA} database"))
        needs.append(("CREATE", q.schema, q.name, "to create the quarantine table"))
        needs.append(("INSERT", q.schema, q.name, "to copy orphans into it"))
        needs.append(("SELECT", ref.child.table.schema, ref.child.table.name, "to find orphans"))
        needs.append(("DELETE", ref.child.table.schema, ref.child.table.name, "to delete them"))
        needs.append(("SELECT", ref.parent.table.schema, ref.parent.table.name, "to match them"))
    return list(dict.fromkeys(needs))


def describe_need(need: Need) -> str:
    privilege, db, table, why = need
    where = table_sql(QualifiedName(db, table)) if table is not None else f"{quote(db)}.*"
    return f"{privilege} on {where}, needed {why}"
