"""Baseline manifests: what the source held, recorded so a restore can be compared with it.

A manifest is JSON, versioned (``manifest_version``), with no row data: object
inventory, extension versions, row counts (estimated, or exact with ``--exact``), the
range of every sequence-fed key, every sequence's position, the privileges of named
roles, and a fingerprint of the schema. ``docs`` in the README describe each field.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from restoregate import __version__
from restoregate.catalog import Catalog, Table
from restoregate.errors import CheckFailedToRun, UsageError
from restoregate.names import quote_ident
from restoregate.probes import Probes
from restoregate.report import _jsonable
from restoregate.scope import Scope

MANIFEST_VERSION = 1
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def inventory_sections(rows: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    objects: dict[str, list[str]] = defaultdict(list)
    extensions: dict[str, str] = {}
    not_valid: list[str] = []
    for kind, identity, detail in rows:
        if kind == "extension":
            extensions[identity] = detail or ""
            continue
        objects[kind].append(identity)
        if detail == "not valid":
            not_valid.append(identity)
    return {
        "objects": dict(sorted(objects.items())),
        "extensions": extensions,
        "not_valid": not_valid,
    }


def rebased(manifest: dict[str, Any], engine: str, database: str) -> dict[str, Any]:
    """On MySQL/MariaDB the database is the schema: a restore into another database name
    is compared as if names were relative to it (``src.t`` reads as ``dst.t``)."""
    source = manifest.get("database")
    if engine not in ("mysql", "mariadb") or not isinstance(source, str) or source == database:
        return manifest
    prefixes = [
        (f"{source}.", f"{database}."),
        (f"{quote_ident(source)}.", f"{quote_ident(database)}."),
    ]

    def move(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in prefixes:
                if value.startswith(old):
                    return new + value[len(old) :]
            return value
        if isinstance(value, list):
            return [move(v) for v in value]
        if isinstance(value, dict):
            return {move(k): move(v) for k, v in value.items()}
        return value

    moved = {k: move(v) if k in _NAMED else v for k, v in manifest.items()}
    return {**moved, "database": database}


_NAMED = ("tables", "sequences", "keys", "objects", "not_valid", "privileges")


def fingerprint(objects: dict[str, list[str]]) -> str:
    lines = sorted(f"{kind} {name}" for kind, names in objects.items() for name in names)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def take(
    probes: Probes,
    catalog: Catalog,
    scope: Scope,
    *,
    exact: bool,
    roles: list[str],
    snapshot: str | None,
    taken_at: datetime,
) -> dict[str, Any]:
    sections = inventory_sections(probes.inventory())
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": {"name": "restoregate", "version": __version__},
        "taken_at": taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "engine": catalog.server.engine,
        "database": catalog.server.database,
        "server_version": catalog.server.version.split()[0],
        "snapshot": snapshot,
        "row_counts": "exact" if exact else "estimated",
        "tables": {str(t.name): {"rows": _rows(probes, t, exact)} for t in scope.tables},
        "sequences": _sequences(probes, catalog, scope),
        "keys": _keys(probes, scope),
        **sections,
        "privileges": _privileges(probes, scope, roles),
        "catalog_state": _catalog_state(probes, catalog, scope),
        "fingerprint": fingerprint(sections["objects"]),
    }


def _catalog_state(probes: Probes, catalog: Catalog, scope: Scope) -> list[str]:
    """What the source is like on purpose (UNLOGGED, NOT VALID, WITH NO DATA), so that a
    restore is judged on what differs: ``item object`` lines, as the catalog check keys them.
    """
    tables = [t.name for t in (*scope.tables, *scope.partitions)]
    schemas = sorted({t.name.schema for t in scope.tables})
    found = [f"unlogged {t.name}" for t in scope.tables if t.unlogged]
    found += [f"unlogged {s.name}" for s in catalog.sequences.values() if s.unlogged]
    for item in ("constraints", "materialized_views"):
        if item in probes.health_items:
            found += [f"{item} {obj}" for obj, _ in probes.health(item, tables, schemas)]
    return sorted(found)


def _rows(probes: Probes, table: Table, exact: bool) -> int | None:
    if exact:
        return probes.row_count(table.name)
    return round(table.estimated_rows) if table.estimated_rows >= 0 else None


def _sequences(probes: Probes, catalog: Catalog, scope: Scope) -> dict[str, Any]:
    schemas = {t.name.schema for t in scope.tables}
    defs = [s for s in catalog.sequences.values() if s.name.schema in schemas]
    out: dict[str, Any] = {}
    for name, position in sorted(probes.positions([s.name for s in defs]).items()):
        if isinstance(position, CheckFailedToRun):
            raise position
        seq = catalog.sequences[name]
        entry: dict[str, Any] = {
            "last_value": position.last_value,
            "next_value": position.next_value,
        }
        if seq.kind == "sequence" and position.next_value is not None:
            entry["is_called"] = position.next_value != position.last_value
        if seq.kind != "sequence":
            entry["kind"] = seq.kind
        out[str(name)] = entry
    return out


def _keys(probes: Probes, scope: Scope) -> list[dict[str, Any]]:
    keys = []
    for feed in scope.feeds:
        if feed.sequence is None or feed.uncheckable:
            continue
        low, high = probes.column_range(feed.table, feed.column)
        keys.append(
            {
                "table": str(feed.table),
                "column": feed.column,
                "sequence": str(feed.sequence),
                "min": _jsonable(low),
                "max": _jsonable(high),
            }
        )
    return keys


def _privileges(probes: Probes, scope: Scope, roles: list[str]) -> dict[str, Any]:
    if not roles:
        return {}
    existing = probes.roles_present(roles)
    missing_roles = [r for r in roles if r not in existing]
    if missing_roles:
        raise UsageError(f"--role {missing_roles[0]}: no such role in this cluster")
    names = [t.name for t in scope.tables]
    schemas = sorted({t.name.schema for t in scope.tables})
    out: dict[str, Any] = {}
    for role in roles:
        lacking = set(probes.missing_grants(role, "tables", TABLE_PRIVILEGES, names, schemas))
        out[role] = {
            str(t.name): [p for p in TABLE_PRIVILEGES if (str(t.name), p) not in lacking]
            for t in scope.tables
        }
    return out


def text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def write(manifest: dict[str, Any], path: Path) -> None:
    try:
        path.write_text(text(manifest), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def read(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--baseline {path}: cannot read it: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--baseline {path}: not a restoregate manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        raise UsageError(
            f"--baseline {path}: not a version {MANIFEST_VERSION} manifest",
            "write one with: restoregate snapshot --dsn SOURCE -o manifest.json",
        )
    return manifest


def next_value(entry: dict[str, Any], increment: int) -> int:
    """What the sequence would hand out next when the manifest was taken."""
    if entry.get("next_value") is not None:
        return int(entry["next_value"])
    last = int(entry["last_value"])
    return last + increment if entry.get("is_called", True) else last
