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
       ARRAY(SELECT a.attname
             FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS child_columns,
       ARRAY(SELECT a.attname
             FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS parent_columns,
       -- operators looked up one by one (an index probe each): a join here is planned as
       -- a scan of pg_operator per foreign key
       ARRAY(SELECT (SELECT n.nspname
                     FROM pg_catalog.pg_operator AS op
                     JOIN pg_catalog.pg_namespace AS n ON n.oid = op.oprnamespace
                     WHERE op.oid = o.oid)
             FROM pg_catalog.unnest(con.conpfeqop) WITH ORDINALITY AS o(oid, i)
             ORDER BY o.i) AS operator_schemas,
       ARRAY(SELECT (SELECT op.oprname FROM pg_catalog.pg_operator AS op WHERE op.oid = o.oid)
             FROM pg_catalog.unnest(con.conpfeqop) WITH ORDINALITY AS o(oid, i)
             ORDER BY o.i) AS operator_names,
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
