"""``mysql://USER[:PASS]@HOST[:PORT]/DB`` (or ``mariadb://``), parsed; shown without password."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from restoregate.errors import UsageError

_OPTIONS = ("unix_socket", "connect_timeout", "ssl_ca", "ssl_disabled")


@dataclass(frozen=True)
class MysqlDsn:
    scheme: str
    user: str
    password: str | None = field(repr=False)
    host: str
    port: int
    database: str
    options: tuple[tuple[str, str], ...] = ()

    def shown(self) -> str:
        """The DSN as reports show it: never the password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        socket = dict(self.options).get("unix_socket")
        query = f"?unix_socket={socket}" if socket else ""
        return f"{self.scheme}://{user}{host}:{self.port}/{self.database}{query}"


def parse(dsn: str) -> MysqlDsn:
    """Parse without ever echoing the text (it may hold a password)."""
    try:
        parts = urlsplit(dsn.strip())
        port = parts.port or 3306
    except ValueError:
        raise UsageError(
            "--dsn is not a valid mysql:// URL", "write mysql://USER[:PASS]@HOST:PORT/DB"
        ) from None
    scheme = parts.scheme.lower()
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise UsageError(
            f"--dsn {scheme}://…: name the database after the host",
            f"write {scheme}://USER[:PASS]@HOST:PORT/DB",
        )
    options = tuple(parse_qsl(parts.query, keep_blank_values=True))
    for key, _ in options:
        if key not in _OPTIONS:
            raise UsageError(
                f"--dsn {scheme}://…: unknown option {key!r}", f"known: {', '.join(_OPTIONS)}"
            )
    return MysqlDsn(
        scheme=scheme,
        user=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname or "localhost",
        port=port,
        database=database,
        options=options,
    )


def describe(dsn: str | None) -> str:
    try:
        return parse(dsn or "").shown()
    except UsageError:
        return "(unparsable DSN)"
