"""PostgreSQL's answers about the catalog: health items, extensions, inventory, grants."""

from __future__ import annotations

from psycopg import sql

from restoregate.engines.base import (
    Extensions,
    HealthItem,
    Inventory,
    MissingGrants,
    RolesPresent,
)
from restoregate.engines.postgres.connected import Connected
from restoregate.engines.postgres.queries import load
from restoregate.errors import CheckFailedToRun

HEALTH_ITEMS = (
    "invalid_indexes",
    "constraints",
    "triggers",
    "materialized_views",
    "unlogged",
    "subscriptions",
    "replication_slots",
    "statistics",
)
EXTRA_ITEMS = ("physical_slots",)  # asked by the catalog check's replication_slots item


class CatalogAnswers(Connected):
    def answer_health_item(self, request: HealthItem) -> list[tuple[str, str]]:
        """One catalog query per health item: (object, problem) rows, ready to report."""
        item = request.item
        if item not in HEALTH_ITEMS + EXTRA_ITEMS or item == "unlogged":
            raise CheckFailedToRun(f"catalog item {item} is not known on PostgreSQL")
        oids = [self._handles.table_oids[t] for t in request.tables]
        params = {"table_oids": oids, "schemas": list(request.schemas)}
        rows = self._rows(
            f"checking {item.replace('_', ' ')}", sql.SQL(load(f"health/{item}")), params
        )
        if item == "constraints" and self.server_version >= 180000:
            query = sql.SQL(load("health/constraints.pg18"))
            rows += self._rows("checking constraints", query, params)
        return [(str(r[0]), str(r[1])) for r in rows]

    def answer_extensions(self, request: Extensions) -> dict[str, str]:
        rows = self._rows("reading extensions", sql.SQL(load("health/extensions")))
        return {str(r[0]): str(r[1]) for r in rows}

    def answer_inventory(self, request: Inventory) -> list[tuple[str, str, str | None]]:
        """Every restorable object as (kind, identity, detail): one catalog query."""
        rows = self._rows("taking the object inventory", sql.SQL(load("inventory")))
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def answer_roles_present(self, request: RolesPresent) -> set[str]:
        rows = self._rows(
            "looking up roles", sql.SQL(load("privileges/roles")), {"roles": list(request.roles)}
        )
        return {str(r[0]) for r in rows}

    def answer_missing_grants(self, request: MissingGrants) -> list[tuple[str, str]]:
        """(object, privilege) pairs ``role`` lacks, for kind tables, sequences or schemas."""
        role, kind, privileges = request.role, request.object_kind, request.privileges
        handles = self._handles
        oids = [
            (handles.table_oids if kind == "tables" else handles.sequence_oids)[name]
            for name in request.objects
        ]
        schemas = request.schemas
        params = {
            "role": role,
            "privileges": list(privileges),
            "oids": list(oids),
            "schemas": list(schemas),
        }
        query = sql.SQL(load(f"privileges/{kind}"))
        rows = self._rows(f"checking {role}'s privileges on {kind}", query, params)
        return [(str(r[0]), str(r[1])) for r in rows]
