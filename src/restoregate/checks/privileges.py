"""Check ``privileges``: the application's roles can still do their work."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from restoregate.context import CheckContext, Outcome
from restoregate.engines.base import MissingGrants, Request, RolesPresent
from restoregate.errors import CheckFailedToRun
from restoregate.report import Violation
from restoregate.rules.ruleset import TableFilter

ALLOWED = {
    "tables": {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
        "MAINTAIN",
    },
    "sequences": {"USAGE", "SELECT", "UPDATE"},
    "schemas": {"USAGE", "CREATE"},
}
SHOWN = 5


@dataclass(frozen=True)
class MissingPrivilege(Violation):
    kind: ClassVar[str] = "missing_privilege"
    role: str
    object_kind: str
    privilege: str
    objects: int
    sample: list[str]

    def describe(self) -> str:
        more = ", …" if self.objects > len(self.sample) else ""
        noun = self.object_kind if self.objects != 1 else self.object_kind.rstrip("s")
        return (
            f"role {self.role} lacks {self.privilege} on {self.objects:,} {noun} "
            f"({', '.join(self.sample)}{more})"
        )


@dataclass(frozen=True)
class RoleMissing(Violation):
    kind: ClassVar[str] = "role_missing"
    role: str

    def describe(self) -> str:
        return (
            f"role {self.role} does not exist: roles are not in pg_dump archives "
            "(restore them with pg_dumpall --globals-only)"
        )


def _parse_roles(raw: dict[str, Any]) -> dict[str, dict[str, tuple[str, ...]]]:
    if not raw:
        raise ValueError("roles: name at least one role")
    parsed: dict[str, dict[str, tuple[str, ...]]] = {}
    for role, wants in raw.items():
        if not isinstance(wants, dict) or not wants:
            raise ValueError(f"roles: {role}: expected a mapping of tables/sequences/schemas")
        parsed[role] = {}
        for kind, privileges in wants.items():
            if kind not in ALLOWED:
                raise ValueError(
                    f"roles: {role}: unknown key {kind!r} (tables, sequences, schemas)"
                )
            if not isinstance(privileges, list) or not privileges:
                raise ValueError(f"roles: {role}: {kind} must be a list of privileges")
            names = tuple(str(p).upper() for p in privileges)
            unknown = sorted(set(names) - ALLOWED[kind])
            if unknown:
                raise ValueError(
                    f"roles: {role}: {', '.join(unknown)} is not a privilege on {kind} "
                    f"({', '.join(sorted(ALLOWED[kind]))})"
                )
            parsed[role][kind] = names
    return parsed


class Privileges:
    """Named roles hold the privileges they need on the tables, sequences and schemas in scope.

    Fails (``pg_restore --no-owner --no-privileges``: everything belongs to the
    restoring role, and the application's role can read nothing)::

        - id: app-can-work
          check: privileges
          roles:
            app_rw: {tables: [SELECT, INSERT, UPDATE, DELETE], sequences: [USAGE],
                     schemas: [USAGE]}
        -> missing_privilege: role app_rw lacks INSERT on 12 tables (public.accounts, …)

    Passes once the grants are restored. A role that does not exist at all fails too:
    roles live outside pg_dump archives.
    """

    name: ClassVar[str] = "privileges"
    needs: ClassVar[tuple[type[Request[Any]], ...]] = (
        RolesPresent,
        MissingGrants,
    )

    @dataclass(frozen=True)
    class Params:
        roles: dict[str, Any]
        tables: TableFilter = field(default_factory=TableFilter)
        wanted: dict[str, dict[str, tuple[str, ...]]] = field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "wanted", _parse_roles(self.roles))

    def run(self, ctx: CheckContext, params: Params) -> Outcome:
        tables = [t for t in ctx.scope.tables if params.tables(t.name)]
        fed = {f.sequence for f in ctx.scope.feeds if f.sequence and params.tables(f.table)}
        targets = {
            "tables": [t.name for t in tables],
            "sequences": sorted(fed),
        }
        schemas = sorted({t.name.schema for t in tables})
        found: list[Violation] = []
        errors: list[CheckFailedToRun] = []
        existing = ctx.probes.roles_present(list(params.wanted))
        for role, wants in params.wanted.items():
            if role not in existing:
                found.append(RoleMissing(role))
                continue
            for kind, privileges in wants.items():
                try:
                    missing = ctx.probes.missing_grants(
                        role, kind, privileges, targets.get(kind, []), schemas
                    )
                except CheckFailedToRun as exc:
                    errors.append(exc)
                    continue
                found.extend(_group(role, kind, missing))
        roles = ", ".join(params.wanted)
        message = f"{len(found)} missing grants or roles" if found else f"{roles}: all granted"
        return Outcome(message, found, [], errors)


def _group(role: str, kind: str, missing: list[tuple[str, str]]) -> list[Violation]:
    by_privilege: dict[str, list[str]] = defaultdict(list)
    for obj, privilege in missing:
        by_privilege[privilege].append(obj)
    return [
        MissingPrivilege(role, kind, privilege, len(objects), objects[:SHOWN])
        for privilege, objects in sorted(by_privilege.items())
    ]
