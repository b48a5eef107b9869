-- The unique keys of the given tables (partitioned parents and partitions included):
-- valid, non-partial unique indexes over plain columns, the primary key first. A
-- partitioned parent's key that lives only on its partitions is derived in Python.
SELECT i.indrelid::int8 AS table_oid,
       i.indisprimary AS is_primary,
       -- column numbers, named from the columns query (a lookup per index here took
       -- most of the query's time at 10,000 tables)
       i.indkey::int2[] AS attnums
FROM pg_catalog.pg_index AS i
WHERE i.indrelid = ANY (%(table_oids)s)
  AND i.indisunique
  AND i.indisvalid
  AND i.indpred IS NULL
  AND i.indexprs IS NULL
ORDER BY i.indrelid, NOT i.indisprimary, i.indnatts, i.indexrelid
