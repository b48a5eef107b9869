-- For each pair of column types (child, parent) of a logical reference, the equality
-- operator to join them with: an exact match, pg_catalog's first.
SELECT p.i,
       op.schema,
       op.name
FROM ROWS FROM (pg_catalog.unnest(%(left)s::pg_catalog.oid[]),
               pg_catalog.unnest(%(right)s::pg_catalog.oid[]))
     WITH ORDINALITY AS p(l, r, i)
LEFT JOIN LATERAL (
       SELECT n.nspname AS schema, o.oprname AS name
       FROM pg_catalog.pg_operator AS o
       JOIN pg_catalog.pg_namespace AS n ON n.oid = o.oprnamespace
       WHERE o.oprname = '='
         AND o.oprleft = p.l
         AND o.oprright = p.r
         AND o.oprresult = 'pg_catalog.bool'::pg_catalog.regtype
       ORDER BY n.nspname <> 'pg_catalog', n.nspname
       LIMIT 1) AS op ON true
ORDER BY p.i
