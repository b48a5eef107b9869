-- Tables never analyzed and without statistics: the first queries plan on defaults.
SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname) AS object,
       'never analyzed, no statistics' AS problem
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_all_tables AS s ON s.relid = c.oid
WHERE c.oid = ANY (%(table_oids)s)
  AND s.last_analyze IS NULL
  AND s.last_autoanalyze IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stats AS ps
                  WHERE ps.schemaname = n.nspname AND ps.tablename = c.relname)
ORDER BY 1
