-- For each pair of column types (child, parent) of a reference, the equality operator to
-- join them with, as PostgreSQL's operator resolution would pick it: an exact match
-- (pg_catalog's first, e.g. int4 = int8), else an operator on one common type both sides
-- reach by an implicit cast within their type category, most exact sides first, then the
-- category's preferred type (varchar = varchar and bpchar = text use text = text,
-- varchar = bpchar uses bpchar = bpchar, int4 = numeric uses numeric = numeric). Never a cast
-- across categories (text = uuid stays unresolved: those columns cannot be compared).
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
       JOIN pg_catalog.pg_type AS tl ON tl.oid = p.l
       JOIN pg_catalog.pg_type AS tr ON tr.oid = p.r
       JOIN pg_catalog.pg_type AS t ON t.oid = o.oprleft
       WHERE o.oprname = '='
         AND o.oprresult = 'pg_catalog.bool'::pg_catalog.regtype
         AND ((o.oprleft = p.l AND o.oprright = p.r)
              OR (o.oprleft = o.oprright
                  AND tl.typcategory = tr.typcategory
                  AND t.typcategory = tl.typcategory
                  AND (o.oprleft = p.l OR EXISTS (
                         SELECT 1 FROM pg_catalog.pg_cast AS c
                         WHERE c.castsource = p.l AND c.casttarget = o.oprleft
                           AND c.castcontext = 'i'))
                  AND (o.oprleft = p.r OR EXISTS (
                         SELECT 1 FROM pg_catalog.pg_cast AS c
                         WHERE c.castsource = p.r AND c.casttarget = o.oprleft
                           AND c.castcontext = 'i'))))
       ORDER BY (o.oprleft = p.l)::int4 + (o.oprright = p.r)::int4 DESC,
                n.nspname <> 'pg_catalog',
                t.typispreferred DESC,
                n.nspname
       LIMIT 1) AS op ON true
ORDER BY p.i
