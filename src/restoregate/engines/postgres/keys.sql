-- The unique keys of the given tables (partitioned parents and partitions included):
-- valid, non-partial unique indexes over plain columns, the primary key first. A
-- partitioned parent's key that lives only on its partitions is derived in Python.
SELECT i.indrelid::int8 AS table_oid,
       i.indisprimary AS is_primary,
       ARRAY(SELECT a.attname
             FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_catalog.pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             ORDER BY k.n) AS columns
FROM pg_catalog.pg_index AS i
WHERE i.indrelid = ANY (%(table_oids)s)
  AND i.indisunique
  AND i.indisvalid
  AND i.indpred IS NULL
  AND i.indexprs IS NULL
ORDER BY i.indrelid, NOT i.indisprimary, i.indnatts, i.indexrelid
