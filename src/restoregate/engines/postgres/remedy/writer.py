"""PostgreSQL syntax for fix plans: composed with ``psycopg.sql``, names only as identifiers.

A sequence moves in two statements: a ``SELECT set_config(...)`` that computes, at apply
time and under the locks taken just before, the largest key the sequence must pass, and
a DO block whose text is the same for every sequence (``move_sequence.sql``) and reads
its inputs back with ``current_setting``. Names reach it as values and become SQL only
through ``format('%I')``, so no name can change what the block does. It restarts the
sequence with ``ALTER SEQUENCE … RESTART`` (``ALTER TABLE … ALTER COLUMN … RESTART`` for
identity columns), which a rollback undoes; ``setval()`` would not be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from psycopg import sql

from restoregate.catalog import Reference
from restoregate.engines.postgres.catalog_loader import Operator
from restoregate.engines.postgres.compose import orphans as _anti_join
from restoregate.engines.postgres.compose import relation as _relation
from restoregate.engines.postgres.remedy.queries import load
from restoregate.engines.postgres.session import SessionSettings, server_settings
from restoregate.names import QualifiedName
from restoregate.remedy.plan import QUARANTINE_SCHEMA, KeyColumn, MoveSequence, OrphanStep, Plan

if TYPE_CHECKING:
    from typing_extensions import LiteralString


class PostgresPlanWriter:
    client = "psql"
    transactional = True

    def __init__(
        self, settings: SessionSettings, operators: Callable[[Reference], tuple[Operator, ...]]
    ) -> None:
        self._settings = settings
        self._operators = operators

    def prelude(self) -> list[str]:
        return ["\\set ON_ERROR_STOP on", "BEGIN;"]

    def settings(self) -> list[str]:
        server = server_settings(self._settings)
        values = {
            "lock_timeout": server["lock_timeout"] + "ms",
            "statement_timeout": server["statement_timeout"] + "ms",
            "search_path": "pg_catalog, pg_temp",
        }
        settings = sql.SQL(", ").join(
            sql.SQL("pg_catalog.set_config({}, {}, true)").format(sql.Literal(k), sql.Literal(v))
            for k, v in values.items()
        )
        return [_text(sql.SQL("SELECT {};").format(settings))]

    def holds_inserts(self) -> str:
        return "Inserts into those tables wait until the transaction ends."

    def move_sequence(self, step: MoveSequence) -> list[str]:
        pick, extreme = ("max", "GREATEST") if step.ascending else ("min", "LEAST")
        keys = sql.SQL(", ").join(_key_extreme(pick, key) for key in step.keys)
        inputs = {
            "sequence_schema": sql.Literal(step.sequence.schema),
            "sequence_name": sql.Literal(step.sequence.name),
            "largest_key": sql.SQL("({}({}))::pg_catalog.text").format(sql.SQL(extreme), keys),
            "headroom": sql.Literal(str(step.headroom)),
            "limit": sql.Literal(str(step.limit)),
        }
        settings = sql.SQL(",\n       ").join(
            sql.SQL("pg_catalog.set_config({}, {}, true)").format(
                sql.Literal(f"restoregate.{name}"), value
            )
            for name, value in inputs.items()
        )
        return [
            _text(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;").format(_locked(step))),
            _text(sql.SQL("SELECT {};").format(settings)),
            load("move_sequence").rstrip("\n"),
        ]

    def list_orphans(self, step: OrphanStep) -> str:
        keys = sql.SQL(", ").join(sql.Identifier("c", c) for c in step.reference.child.columns)
        query = sql.SQL("SELECT c.* {} ORDER BY {};").format(self._orphans(step.reference), keys)
        return _text(query)

    def quarantine(self, step: OrphanStep) -> list[str]:
        assert step.quarantine is not None
        ref, target = step.reference, _ident(step.quarantine)
        child = _relation(ref.child.table, ref.child_partitioned)
        create = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {target} AS SELECT NULL::pg_catalog.timestamptz AS"
            " restoregate_quarantined_at, NULL::pg_catalog.text AS restoregate_reference, c.*"
            " FROM {child} AS c WITH NO DATA;"
        ).format(target=target, child=child)
        move = sql.SQL(
            "WITH moved AS (DELETE {orphans} RETURNING c.*)\n"
            "INSERT INTO {target} SELECT pg_catalog.now(), {label}, moved.* FROM moved;"
        ).format(orphans=self._orphans(ref), target=target, label=sql.Literal(ref.label))
        schema = sql.SQL("CREATE SCHEMA IF NOT EXISTS {};").format(
            sql.Identifier(QUARANTINE_SCHEMA)
        )
        return [_text(schema), _text(create), _text(move)]

    def commit(self) -> list[str]:
        return ["COMMIT;"]

    def _orphans(self, ref: Reference) -> sql.Composable:
        """The check's own anti-join, with the same equality operators."""
        return _anti_join(ref, self._operators(ref))


def needed_privileges(plan: Plan) -> list[tuple[str, QualifiedName, str]]:
    """(kind, object, why) for every privilege the plan needs, as missing_privileges.sql reads."""
    needs: list[tuple[str, QualifiedName, str]] = []
    for move in plan.moves:
        restart = "ALTER SEQUENCE … RESTART"
        needs.append(("owner", move.sequence, f"to {restart} (only its owner may)"))
        needs.append(("select", move.sequence, "to read its position"))
        for key in move.locked:
            needs.append(("lock", key.table, "to hold inserts off (LOCK … SHARE ROW EXCLUSIVE)"))
            needs.append(("select", key.table, "to read its largest key"))
        if move.identity is not None:
            why = "to ALTER TABLE … ALTER COLUMN … RESTART its identity (only its owner may)"
            needs.append(("owner", move.identity.table, why))
    for step in plan.orphans:
        if step.quarantine is None:
            continue
        ref = step.reference
        needs.append(("create_schema", step.quarantine, f"to create {QUARANTINE_SCHEMA}"))
        needs.append(("insert_if_exists", step.quarantine, "to copy orphans into it"))
        needs.append(("select", ref.child.table, "to find its orphans"))
        needs.append(("delete", ref.child.table, "to delete its orphans"))
        needs.append(("select", ref.parent.table, "to find which rows are orphans"))
    return list(dict.fromkeys(needs))


def _text(query: sql.Composable) -> str:
    return query.as_string(None)


def _ident(name: QualifiedName) -> sql.Identifier:
    return sql.Identifier(name.schema, name.name)


def _key_extreme(pick: LiteralString, key: KeyColumn) -> sql.Composable:
    return sql.SQL("(SELECT pg_catalog.{}({}) FROM {})::pg_catalog.numeric").format(
        sql.SQL(pick), sql.Identifier(key.column), _relation(key.table, key.partitioned)
    )


def _locked(step: MoveSequence) -> sql.Composable:
    return sql.SQL(", ").join(_relation(key.table, key.partitioned) for key in step.locked)
