"""The PostgreSQL backend: the only package that knows SQL and psycopg."""
