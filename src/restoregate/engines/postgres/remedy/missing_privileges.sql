-- Which of the privileges a plan needs the connected role lacks (one row each).
-- kind: owner (of a relation), select/delete/insert (on a table or sequence), lock
-- (SHARE ROW EXCLUSIVE: owner, UPDATE, DELETE or TRUNCATE), create_schema (CREATE in the
-- schema, or in the database when the schema does not exist yet), insert_if_exists.
SELECT n.i::int4
FROM ROWS FROM (
        pg_catalog.unnest(%(kinds)s::text[]),
        pg_catalog.unnest(%(schemas)s::text[]),
        pg_catalog.unnest(%(names)s::text[])
     ) WITH ORDINALITY AS n (kind, schema_name, object_name, i)
LEFT JOIN pg_catalog.pg_namespace AS ns ON ns.nspname = n.schema_name
LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace = ns.oid AND c.relname = n.object_name
WHERE NOT COALESCE(
    CASE n.kind
        WHEN 'owner' THEN pg_catalog.pg_has_role(c.relowner, 'USAGE')
        WHEN 'select' THEN pg_catalog.has_table_privilege(c.oid, 'SELECT')
        WHEN 'delete' THEN pg_catalog.has_table_privilege(c.oid, 'DELETE')
        WHEN 'lock' THEN pg_catalog.pg_has_role(c.relowner, 'USAGE')
            OR pg_catalog.has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE')
        WHEN 'create_schema' THEN CASE
            WHEN ns.oid IS NULL
            THEN pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')
            ELSE pg_catalog.has_schema_privilege(ns.oid, 'CREATE') END
        WHEN 'insert_if_exists' THEN c.oid IS NULL OR pg_catalog.has_table_privilege(c.oid, 'INSERT')
    END, false)
ORDER BY n.i
