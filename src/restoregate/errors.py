"""One error hierarchy; the CLI turns each class into the contract's exit code once.

Exit codes (docs/contract.md): 0 gate open, 1 a rule failed, 2 usage or rules error,
3 the checks could not complete.
"""

from __future__ import annotations

EXIT_OPEN = 0
EXIT_CLOSED = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3


class RestoregateError(Exception):
    """Base of every error restoregate expects and explains in one line."""

    exit_code = EXIT_INCOMPLETE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(RestoregateError):
    """Bad command-line input: nothing was judged."""

    exit_code = EXIT_USAGE


class RulesError(UsageError):
    """A rules file is invalid; carries the position as FILE:LINE:COL (1-based)."""

    def __init__(
        self, path: str, line: int, col: int, message: str, hint: str | None = None
    ) -> None:
        super().__init__(f"{path}:{line}:{col}: {message}", hint)
        self.path = path
        self.line = line
        self.col = col
        self.detail = message


class NothingToJudge(UsageError):
    """The schemas in scope hold no tables: a gate that judged nothing is not open."""


class ConnectionProblem(RestoregateError):
    """The database could not be reached or the session could not be set up."""


class CheckFailedToRun(RestoregateError):
    """A probe failed (timeout, permission, lost connection): the rule's status is error."""


class RefusedSql(CheckFailedToRun):
    """The server's reading of a rules file's SQL calls something that may not run.

    Raised before any rule runs it is a rules error (exit 2, ``api.vet_rules``); raised by
    the probe itself the rule's status is error.
    """
