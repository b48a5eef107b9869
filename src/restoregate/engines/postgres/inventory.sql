-- Every object a restore must bring back, as (kind, identity, detail). Extension members
-- are left out (CREATE EXTENSION restores them), and so are PostgreSQL 18's NOT NULL
-- constraints (other versions keep NOT NULL as a column property).
WITH user_schemas AS (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace AS n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
members AS (
    SELECT d.objid FROM pg_catalog.pg_depend AS d WHERE d.deptype = 'e'
)
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' END AS kind,
       pg_catalog.format('%I.%I', s.nspname, c.relname) AS identity,
       NULL::text AS detail
FROM pg_catalog.pg_class AS c JOIN user_schemas AS s ON s.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.oid NOT IN (SELECT objid FROM members)
UNION ALL
SELECT 'index', pg_catalog.format('%I.%I', s.nspname, i.relname), NULL
FROM pg_catalog.pg_index AS ix
JOIN pg_catalog.pg_class AS i ON i.oid = ix.indexrelid
JOIN pg_catalog.pg_class AS t ON t.oid = ix.indrelid
JOIN user_schemas AS s ON s.oid = i.relnamespace
WHERE t.oid NOT IN (SELECT objid FROM members)
UNION ALL
SELECT 'constraint',
       pg_catalog.format('%I.%I constraint %I', s.nspname, r.relname, con.conname),
       CASE WHEN con.convalidated THEN 'valid' ELSE 'not valid' END
FROM pg_catalog.pg_constraint AS con
JOIN pg_catalog.pg_class AS r ON r.oid = con.conrelid
JOIN user_schemas AS s ON s.oid = r.relnamespace
WHERE con.contype <> 'n' AND con.conparentid = 0 AND r.oid NOT IN (SELECT objid FROM members)
UNION ALL
SELECT 'trigger', pg_catalog.format('%I.%I trigger %I', s.nspname, r.relname, t.tgname), NULL
FROM pg_catalog.pg_trigger AS t
JOIN pg_catalog.pg_class AS r ON r.oid = t.tgrelid
JOIN user_schemas AS s ON s.oid = r.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0
UNION ALL
SELECT 'function',
       pg_catalog.format('%I.%I(%s)', s.nspname, p.proname,
                         pg_catalog.pg_get_function_identity_arguments(p.oid)),
       NULL
FROM pg_catalog.pg_proc AS p JOIN user_schemas AS s ON s.oid = p.pronamespace
WHERE p.oid NOT IN (SELECT objid FROM members)
UNION ALL
SELECT 'policy', pg_catalog.format('%I.%I policy %I', s.nspname, r.relname, pol.polname), NULL
FROM pg_catalog.pg_policy AS pol
JOIN pg_catalog.pg_class AS r ON r.oid = pol.polrelid
JOIN user_schemas AS s ON s.oid = r.relnamespace
UNION ALL
SELECT 'extension', e.extname, e.extversion FROM pg_catalog.pg_extension AS e
ORDER BY 1, 2
