-- Who and where we are: shown in reports and used to pick version-specific queries.
SELECT pg_catalog.current_setting('server_version') AS version,
       pg_catalog.current_setting('server_version_num')::int4 AS version_num,
       pg_catalog.current_database() AS database,
       pg_catalog.current_user() AS "user"
