-- Declared foreign keys whose child is one of the given tables. conparentid = 0 keeps
-- one row per FK on a partitioned table (its clones on partitions have a parent).
-- Tables come back as OIDs, named (and known partitioned or not) from the tables query,
-- columns as numbers, named from the columns query: joining pg_class and pg_namespace
-- twice here took a third of the query at 10,000 foreign keys, naming each column half.
-- Only a parent outside the tables read (one an extension owns) is named here.
SELECT con.oid::int8 AS oid,
       con.conname AS name,
       con.conrelid::int8 AS child_oid,
       con.confrelid::int8 AS parent_oid,
       con.conkey::int2[] AS child_keys,
       con.confkey::int2[] AS parent_keys,
       outside.parent_schema,
       outside.parent_table,
       outside.parent_partitioned,
       outside.parent_columns,
       -- equality operators by OID, named by fk_operators.sql (a handful in any schema)
       con.conpfeqop::int8[] AS operators,
       con.confmatchtype = 'f' AS match_full,
       con.convalidated AS validated,
       EXISTS (SELECT 1
               FROM pg_catalog.pg_trigger AS t
               WHERE t.tgconstraint = con.oid
                 AND t.tgenabled = 'D') AS triggers_disabled
FROM pg_catalog.pg_constraint AS con
LEFT JOIN LATERAL (
        SELECT pn.nspname AS parent_schema,
               pc.relname AS parent_table,
               pc.relkind = 'p' AS parent_partitioned,
               ARRAY(SELECT a.attname
                     FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
                     JOIN pg_catalog.pg_attribute AS a
                       ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                     ORDER BY k.i) AS parent_columns
        FROM pg_catalog.pg_class AS pc
        JOIN pg_catalog.pg_namespace AS pn ON pn.oid = pc.relnamespace
        WHERE pc.oid = con.confrelid
          AND con.confrelid <> ALL (%(table_oids)s)
        OFFSET 0) AS outside ON true
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND con.conrelid = ANY (%(table_oids)s)
ORDER BY con.conrelid, con.conname
