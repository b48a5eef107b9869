SELECT e.extname AS name, e.extversion AS version FROM pg_catalog.pg_extension AS e
