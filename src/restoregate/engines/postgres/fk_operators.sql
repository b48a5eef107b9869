-- The equality operators the given tables' foreign keys compare with: schema and name
-- by OID (a handful, whatever the number of foreign keys).
SELECT op.oid::int8 AS oid,
       n.nspname AS schema,
       op.oprname AS name
FROM pg_catalog.pg_operator AS op
JOIN pg_catalog.pg_namespace AS n ON n.oid = op.oprnamespace
WHERE op.oid IN (SELECT pg_catalog.unnest(con.conpfeqop)
                 FROM pg_catalog.pg_constraint AS con
                 WHERE con.contype = 'f'
                   AND con.conparentid = 0
                   AND con.conrelid = ANY (%(table_oids)s))
