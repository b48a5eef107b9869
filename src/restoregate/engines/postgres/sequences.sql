-- Every sequence outside the system schemas with the parameters that decide its next value.
SELECT s.seqrelid::int8 AS oid,
       n.nspname AS schema,
       c.relname AS name,
       pg_catalog.format_type(s.seqtypid, NULL) AS type_name,
       s.seqstart AS start,
       s.seqincrement AS increment,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       s.seqcycle AS cycle,
       c.relpersistence = 'u' AS unlogged,
       -- read ahead only what may be read: a refused read fails its whole statement
       pg_catalog.has_sequence_privilege(c.oid, 'SELECT') AS readable
FROM pg_catalog.pg_sequence AS s
JOIN pg_catalog.pg_class AS c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
