-- Materialized views restored WITH NO DATA: querying them raises an error.
SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname) AS object,
       'materialized view is not populated: REFRESH MATERIALIZED VIEW before go-live' AS problem
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'm'
  AND NOT c.relispopulated
  AND n.nspname = ANY (%(schemas)s)
ORDER BY 1
