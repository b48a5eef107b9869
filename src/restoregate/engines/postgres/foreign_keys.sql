-- Declared foreign keys whose child is one of the given tables. conparentid = 0 keeps
-- one row per FK on a partitioned table (its clones on partitions have a parent).
SELECT con.oid::int8 AS oid,
       con.conname AS name,
       cn.nspname AS child_schema,
       cc.relname AS child_table,
       cc.relkind = 'p' AS child_partitioned,
       pn.nspname AS parent_schema,
       pc.relname AS parent_table,
       pc.relkind = 'p' AS parent_partitioned,
       con.conrelid::int8 AS child_oid,
       con.confrelid::int8 AS parent_oid,
       -- column numbers, named from the columns query (a lookup each here took half the
       -- query's time at 10,000 foreign keys); a parent outside the tables read (one an
       -- extension owns) is named here
       con.conkey::int2[] AS child_keys,
       con.confkey::int2[] AS parent_keys,
       CASE WHEN con.confrelid <> ALL (%(table_oids)s) THEN
            ARRAY(SELECT a.attname
                  FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
                  JOIN pg_catalog.pg_attribute AS a
                    ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                  ORDER BY k.i)
       END AS parent_columns,
       -- equality operators by OID, named by fk_operators.sql (a handful in any schema)
       con.conpfeqop::int8[] AS operators,
       con.confmatchtype = 'f' AS match_full,
       con.convalidated AS validated,
       EXISTS (SELECT 1
               FROM pg_catalog.pg_trigger AS t
               WHERE t.tgconstraint = con.oid
                 AND t.tgenabled = 'D') AS triggers_disabled
FROM pg_catalog.pg_constraint AS con
JOIN pg_catalog.pg_class AS cc ON cc.oid = con.conrelid
JOIN pg_catalog.pg_namespace AS cn ON cn.oid = cc.relnamespace
JOIN pg_catalog.pg_class AS pc ON pc.oid = con.confrelid
JOIN pg_catalog.pg_namespace AS pn ON pn.oid = pc.relnamespace
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND con.conrelid = ANY (%(table_oids)s)
ORDER BY con.conrelid, con.conname
