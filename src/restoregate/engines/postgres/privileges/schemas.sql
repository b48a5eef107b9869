SELECT pg_catalog.format('%%I', n.nspname) AS object, p.privilege
FROM pg_catalog.pg_namespace AS n
CROSS JOIN pg_catalog.unnest(%(privileges)s::text[]) AS p(privilege)
WHERE n.nspname = ANY (%(schemas)s)
  AND NOT pg_catalog.has_schema_privilege(%(role)s, n.oid, p.privilege)
ORDER BY 2, 1
