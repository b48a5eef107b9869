-- Every ordinary and partitioned table outside the system schemas, partitions included
-- (flagged) so that references and rules can name them. Tables that belong to an
-- extension are left out: CREATE EXTENSION restores them, not the dump's data.
SELECT c.oid::int8 AS oid,
       n.nspname AS schema,
       c.relname AS name,
       c.relkind = 'p' AS partitioned,
       c.relispartition AS partition,
       c.relpersistence = 'u' AS unlogged,
       c.relrowsecurity AS row_security,
       -- relpages, not pg_relation_size(): that would lock every table, and a restore
       -- still holding one must fail only the rules that read it
       c.relpages AS pages,
       c.relallvisible AS visible_pages,
       c.reltuples::float8 AS estimated_rows,
       -- what reading it locks besides itself (batches.py keeps each batch's locks in
       -- its budget): its indexes, and its TOAST table and index; a partitioned
       -- table's whole tree is counted by lock_weights.sql
       coalesce(ix.indexes, 0)::int8 AS indexes,
       c.reltoastrelid <> 0 AS toasted,
       (SELECT h.inhparent::int8
        FROM pg_catalog.pg_inherits AS h
        WHERE h.inhrelid = c.oid AND c.relispartition) AS parent_oid
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN (SELECT i.indrelid, count(*) AS indexes
           FROM pg_catalog.pg_index AS i
           GROUP BY i.indrelid) AS ix ON ix.indrelid = c.oid
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  AND NOT EXISTS (
        SELECT 1
        FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.objid = c.oid
          AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
