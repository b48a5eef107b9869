"""What an engine supplies to ``fix`` and ``fence``: a small interface, one module each.

An engine's remedy module (``engines/postgres/remedy``) provides three functions:
``plan_writer`` (its syntax for each kind of step), ``open_write_session`` (the one
read-write transaction ``fix --apply`` runs in) and ``open_fence`` (locking roles out),
and says with ``TRANSACTIONAL`` whether the plan is one transaction that can be rolled
back (PostgreSQL) or not (MySQL/MariaDB, where DDL commits at once).
``REMEDIES`` maps a DSN scheme to that module, imported only when asked for; a scheme
without one fails closed with a usage error naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, cast

from restoregate.engines import scheme
from restoregate.engines.base import Engine
from restoregate.errors import UsageError
from restoregate.fence import FenceRecord, RoleState
from restoregate.remedy.plan import Plan
from restoregate.remedy.script import PlanWriter
from restoregate.settings import SessionSettings

REMEDIES: dict[str, str] = {
    "postgresql": "restoregate.engines.postgres.remedy",
    "postgres": "restoregate.engines.postgres.remedy",
    "mysql": "restoregate.engines.mysql.remedy",
    "mariadb": "restoregate.engines.mysql.remedy",
    "sqlite": "restoregate.engines.sqlite.remedy",
}


class WriteSession(Protocol):
    transactional: bool  # False: each statement commits as it runs; re-checked afterwards

    @property
    def role(self) -> str: ...

    def missing_privileges(self, plan: Plan) -> list[str]:
        """What the connected role lacks for the plan, one sentence each (empty: nothing)."""
        ...

    def run(self, statements: Sequence[str], notice: Callable[[str], None]) -> None: ...

    def engine(self) -> Engine:
        """The check's engine over this transaction, to re-check before committing."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Fence(Protocol):
    user: str
    locked_word: str  # what the lock is called: NOLOGIN, ACCOUNT LOCK
    sessions_hint: str  # how to end the sessions a lock does not end

    def connected_as(self) -> set[str]: ...

    def namesakes(self, roles: Sequence[str]) -> list[str]:
        """Other accounts sharing a name with these (MySQL's user@host), left unfenced."""
        ...

    def states(self, roles: Sequence[str] = ()) -> dict[str, RoleState]: ...

    def lock(self, state: RoleState, record: FenceRecord) -> None: ...

    def lift(self, state: RoleState) -> None: ...

    def probe(self, state: RoleState) -> None: ...

    def commit(self) -> None: ...


class RemedyModule(Protocol):
    TRANSACTIONAL: bool

    def plan_writer(self, settings: SessionSettings, engine: Any) -> PlanWriter:
        """The engine's syntax; ``engine`` is the open engine the plan's check ran on."""
        ...

    def open_write_session(
        self, dsn: str | None, settings: SessionSettings
    ) -> AbstractContextManager[WriteSession]: ...

    def open_fence(
        self, dsn: str | None, settings: SessionSettings
    ) -> AbstractContextManager[Fence]: ...


def remedy_for(dsn: str | None, command: str) -> RemedyModule:
    name = scheme(dsn)
    module = REMEDIES.get(name)
    if module is None:
        raise UsageError(
            f"{command} is not supported for {name}:// databases yet",
            "run check for the verdict; fix the findings by hand (the report says what)",
        )
    return cast("RemedyModule", importlib.import_module(module))
