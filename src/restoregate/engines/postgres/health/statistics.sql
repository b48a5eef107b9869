-- Tables never analyzed and without statistics: the first queries plan on defaults.
-- The tables with statistics are read from pg_stats once, as a set the NOT IN hashes:
-- a correlated lookup into the view is planned as a nested loop over every statistics
-- row for every table (17 s at 2,500 tables).
SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname) AS object,
       'never analyzed, no statistics' AS problem
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = ANY (%(table_oids)s)
  AND pg_catalog.pg_stat_get_last_analyze_time(c.oid) IS NULL
  AND pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid) IS NULL
  AND (n.nspname, c.relname) NOT IN (SELECT DISTINCT ps.schemaname, ps.tablename
                                     FROM pg_catalog.pg_stats AS ps
                                     WHERE ps.schemaname IS NOT NULL
                                       AND ps.tablename IS NOT NULL)
ORDER BY 1
