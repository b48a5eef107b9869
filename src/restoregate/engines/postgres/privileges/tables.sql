-- The table privileges a role lacks (pg_restore --no-privileges leaves app roles with none).
SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname) AS object, p.privilege
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN pg_catalog.unnest(%(privileges)s::text[]) AS p(privilege)
WHERE c.oid = ANY (%(oids)s)
  AND NOT pg_catalog.has_table_privilege(%(role)s, c.oid, p.privilege)
ORDER BY 2, 1
