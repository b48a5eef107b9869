"""The library API of ``restoregate fence`` and ``check --release``.

Every function opens its own read-write connection and changes roles in one
transaction: all the roles named, or none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace

from restoregate.errors import RestoregateError, UsageError
from restoregate.fence import FenceRecord, RoleState
from restoregate.remedy.engines import Fence, remedy_for
from restoregate.report import Report
from restoregate.settings import SessionSettings

__all__ = ["fence_lock", "fence_status", "fence_unlock", "prepare_release", "release"]


def fence_lock(
    dsn: str | None, roles: Sequence[str], settings: SessionSettings | None = None
) -> list[str]:
    """Make the roles unable to log in, recording what that changed on each."""
    with _open(dsn, "fence lock", settings) as fence:
        states = _existing(fence, roles)
        for name in roles:
            if name in fence.connected_as():
                raise UsageError(
                    f"refusing to fence {name}: it is the role this session runs as",
                    "fence the application's roles, and run restoregate as another role",
                )
        said = []
        for name in dict.fromkeys(roles):
            state = states[name]
            if state.fence is not None:
                said.append(f"{state.describe()}: left as it is")
                continue
            fence.lock(state, FenceRecord.now(state.can_login, state.comment, fence.user))
            said.append(_locked(state, fence))
        said += [
            f"note: {other} is another account of that name; it is not fenced (name it too)"
            for other in fence.namesakes(roles)
        ]
        fence.commit()
    return said


def fence_status(
    dsn: str | None, roles: Sequence[str] = (), settings: SessionSettings | None = None
) -> list[RoleState]:
    """The roles named (every fenced role when none is) and their fences."""
    with _open(dsn, "fence status", settings) as fence:
        states = _existing(fence, roles) if roles else fence.states()
    return list(states.values())


def fence_unlock(
    dsn: str | None, roles: Sequence[str], settings: SessionSettings | None = None
) -> list[str]:
    """Lift the fences on these roles without asking the gate (``fence unlock --force``)."""
    with _open(dsn, "fence unlock", settings) as fence:
        said = _lift(fence, _existing(fence, roles), roles)
        fence.commit()
    return said


def prepare_release(
    dsn: str | None, roles: Sequence[str], settings: SessionSettings | None = None
) -> None:
    """Before the check: the roles exist, carry fences (or can log in), and we may lift them."""
    with _open(dsn, "check --release", settings) as fence:
        for state in _existing(fence, roles).values():
            if state.fence is None and not state.can_login:
                raise UsageError(
                    f"--release {state.name}: it cannot log in and carries no restoregate fence",
                    "--release lifts only fences that `restoregate fence lock` set",
                )
            if state.fence is not None:
                fence.probe(state)


def release(
    dsn: str | None, roles: Sequence[str], report: Report, settings: SessionSettings | None = None
) -> list[str]:
    """After the check: lift the fences if, and only if, the gate opened."""
    if report.exit_code != 0:
        return [
            f"fence stays up: {name} cannot log in (the gate is closed, exit {report.exit_code})"
            for name in roles
        ]
    try:
        with _open(dsn, "check --release", settings) as fence:
            said = _lift(fence, _existing(fence, roles), roles)
            fence.commit()
    except RestoregateError as exc:
        exc.message = f"the gate is open, but the fence stays up: {exc.message}"
        raise
    return said


def _open(
    dsn: str | None, command: str, settings: SessionSettings | None
) -> AbstractContextManager[Fence]:
    # the fence acts as the connecting user: check --role narrows the check, not this
    chosen = replace(settings, role=None) if settings else SessionSettings()
    return remedy_for(dsn, command).open_fence(dsn, chosen)


def _existing(fence: Fence, roles: Sequence[str]) -> dict[str, RoleState]:
    states = fence.states(roles)
    missing = [name for name in roles if name not in states]
    if missing:
        raise UsageError(
            f"no such role: {', '.join(missing)}",
            "role names are case-sensitive (on MySQL/MariaDB: user@host, user alone is user@%)",
        )
    return states


def _lift(fence: Fence, states: dict[str, RoleState], roles: Sequence[str]) -> list[str]:
    said = []
    for name in dict.fromkeys(roles):
        state = states[name]
        if state.fence is None:
            said.append(f"{state.describe()}: nothing to lift")
            continue
        fence.lift(state)
        back = (
            "can log in again"
            if state.fence.login
            else f"stays {fence.locked_word}, as it was before"
        )
        said.append(f"fence lifted: {name} {back}")
    return said


def _locked(state: RoleState, fence: Fence) -> str:
    text = (
        f"fenced: {state.name} cannot log in ({fence.locked_word}) until `check --release` opens it"
    )
    if not state.can_login:
        text = f"fenced: {state.name} could not log in already; recorded, so release keeps it so"
    if state.sessions:
        text += (
            f"; {state.sessions} session(s) of it are still connected: {fence.locked_word} "
            f"stops new ones only ({fence.sessions_hint})"
        )
    return text
