-- The functions a rules file's SQL would make the server call, and why each one is refused.
-- Input: the OIDs the server's rewritten parse tree names (functions, operators, types,
-- relations), the rules file's allow_functions, and the built-ins that run query text.
-- Output: one row per refused function or relation; no rows means the SQL may run.
WITH RECURSIVE
types (oid) AS (
    SELECT t.oid FROM pg_catalog.pg_type AS t WHERE t.oid = ANY (%(types)s::pg_catalog.oid[])
    UNION
    SELECT x.child
    FROM types
    JOIN pg_catalog.pg_type AS t ON t.oid = types.oid
    CROSS JOIN LATERAL (
        SELECT t.typbasetype
        UNION ALL SELECT t.typelem
        UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute AS a
            WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range AS r WHERE r.rngtypid = t.oid
    ) AS x (child)
    WHERE x.child <> 0
),
domain_deps AS (  -- what a domain's CHECK constraints call when a value is coerced to it
    SELECT d.refclassid, d.refobjid
    FROM types
    JOIN pg_catalog.pg_constraint AS c ON c.contypid = types.oid
    JOIN pg_catalog.pg_depend AS d
        ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = c.oid
),
operators AS (
    SELECT o.oid, o.oprcode::pg_catalog.oid AS code, o.oprrest::pg_catalog.oid AS rest,
           o.oprjoin::pg_catalog.oid AS joinsel
    FROM pg_catalog.pg_operator AS o
    WHERE o.oid = ANY (%(operators)s::pg_catalog.oid[])
       OR o.oid IN (SELECT refobjid FROM domain_deps
                    WHERE refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass)
),
called (oid) AS (
    SELECT pg_catalog.unnest(%(functions)s::pg_catalog.oid[])
    UNION SELECT code FROM operators
    UNION SELECT rest FROM operators
    UNION SELECT joinsel FROM operators
    UNION SELECT refobjid FROM domain_deps
        WHERE refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
),
with_aggregates (oid) AS (  -- an aggregate runs its transition and final functions
    SELECT oid FROM called
    UNION
    SELECT x.f
    FROM pg_catalog.pg_aggregate AS a
    CROSS JOIN LATERAL (VALUES
        (a.aggtransfn::pg_catalog.oid), (a.aggfinalfn::pg_catalog.oid),
        (a.aggcombinefn::pg_catalog.oid), (a.aggserialfn::pg_catalog.oid),
        (a.aggdeserialfn::pg_catalog.oid), (a.aggmtransfn::pg_catalog.oid),
        (a.aggminvtransfn::pg_catalog.oid), (a.aggmfinalfn::pg_catalog.oid)
    ) AS x (f)
    WHERE a.aggfnoid IN (SELECT oid FROM called) AND x.f <> 0
),
relations (oid) AS (  -- a table read with its inheritance children and partitions
    SELECT c.oid FROM pg_catalog.pg_class AS c WHERE c.oid = ANY (%(relations)s::pg_catalog.oid[])
    UNION
    SELECT i.inhrelid FROM relations JOIN pg_catalog.pg_inherits AS i ON i.inhparent = relations.oid
)
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '('
           || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS object,
       CASE
           WHEN p.oid < 16384 AND p.proname = ANY (%(query_text)s::pg_catalog.text[])
               THEN 'runs query text of its own'
           WHEN p.oid >= 16384 OR p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace
               THEN 'not a built-in function'
           ELSE 'volatile: it can act outside the read-only transaction'
       END AS reason
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
WHERE p.oid IN (SELECT oid FROM with_aggregates)
  AND NOT EXISTS (
      SELECT 1 FROM ROWS FROM (pg_catalog.unnest(%(allowed_schemas)s::pg_catalog.text[]),
                               pg_catalog.unnest(%(allowed_names)s::pg_catalog.text[])) AS a (s, f)
      WHERE a.s = n.nspname AND a.f = p.proname)
  AND NOT (p.oid < 16384 AND p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
           AND p.provolatile <> 'v' AND p.proname <> ALL (%(query_text)s::pg_catalog.text[]))
UNION ALL
SELECT pg_catalog.quote_ident(s.nspname) || '.' || pg_catalog.quote_ident(c.relname),
       'a foreign table: reading it opens a connection elsewhere'
FROM relations
JOIN pg_catalog.pg_class AS c ON c.oid = relations.oid
JOIN pg_catalog.pg_namespace AS s ON s.oid = c.relnamespace
WHERE c.relkind = 'f'
ORDER BY 1
