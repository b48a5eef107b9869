"""The MySQL 8.x / MariaDB 10.6+ engine (PyMySQL): ``mysql://`` and ``mariadb://`` DSNs.

A database is the schema level: ``appdb.journals``; a name without one means the DSN's
database. Which of the two servers answered decides the engine's name in reports.
"""

from restoregate.engines.mysql.dsn import describe as describe_dsn
from restoregate.engines.mysql.dsn import parse
from restoregate.engines.mysql.engine import open_engine
from restoregate.engines.mysql.vetting import offline as vet_rule_text

DIALECT = "mysql"

__all__ = ["DIALECT", "default_schema", "describe_dsn", "open_engine", "vet_rule_text"]


def default_schema(dsn: str | None) -> str:
    return parse(dsn or "").database
