-- Roughly how many locks reading each table takes, so a batch of probes can stay within
-- its share of the lock table: the table, each of its indexes (the planner opens them
-- all), its TOAST table and index, and the same for every partition of a partitioned one.
-- Asked only about partitioned tables (tables.sql counts the others' own).
WITH members AS (
    SELECT t.oid AS root, t.oid AS rel
    FROM pg_catalog.pg_class AS t
    WHERE t.oid = ANY (%(table_oids)s)
    UNION ALL
    SELECT t.oid, p.relid
    FROM pg_catalog.pg_class AS t
    CROSS JOIN LATERAL pg_catalog.pg_partition_tree(t.oid) AS p
    WHERE t.oid = ANY (%(table_oids)s) AND t.relkind = 'p' AND p.relid <> t.oid
),
indexes AS (
    SELECT i.indrelid, count(*) AS n
    FROM pg_catalog.pg_index AS i
    GROUP BY i.indrelid
)
SELECT m.root::int8 AS oid,
       sum(1 + coalesce(i.n, 0) + CASE WHEN c.reltoastrelid <> 0 THEN 2 ELSE 0 END)::int8 AS locks
FROM members AS m
JOIN pg_catalog.pg_class AS c ON c.oid = m.rel
LEFT JOIN indexes AS i ON i.indrelid = m.rel
GROUP BY m.root
