"""The PostgreSQL engine: the only package that knows psycopg and PostgreSQL's SQL."""

from restoregate.engines.postgres.probes import open_engine
from restoregate.engines.postgres.session import describe_dsn

DIALECT = "postgres"

__all__ = ["DIALECT", "default_schema", "describe_dsn", "open_engine"]


def default_schema(dsn: str | None) -> str:
    return "public"
