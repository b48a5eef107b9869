-- Every link between a sequence and a column of the given tables. Columns come back as
-- numbers, named from the columns query (looking each one up here took a third of the
-- query's time at 10,000 tables).
-- 1. identity columns (deptype 'i') and OWNED BY / serial (deptype 'a'):
--    the sequence depends on the column.
SELECT d.objid::int8 AS sequence_oid,
       d.refobjid::int8 AS table_oid,
       d.refobjsubid::int2 AS attnum,
       CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS kind,
       NULL::text AS expression
FROM pg_catalog.pg_sequence AS s
JOIN pg_catalog.pg_depend AS d
  ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
 AND d.objid = s.seqrelid
 AND d.objsubid = 0
WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.deptype IN ('a', 'i')
  AND d.refobjsubid > 0
  AND d.refobjid = ANY (%(table_oids)s)
UNION ALL
-- 2. column defaults, each looked up once in pg_depend by its own OID (OFFSET 0 keeps the
--    lookup a per-default index probe: linear in the number of defaults, whatever the
--    planner estimates for uncollected catalog statistics):
--    a default calling nextval('seq'::regclass) depends on the sequence, which covers
--    shared sequences and sequences in other schemas; one calling nextval('seq'::text)
--    is resolved at insert time and has no dependency (a late-bound default).
--    Deparsed without the table (0) unless the expression reads a column (a generated
--    one): in the stored node tree a column is a {VAR node, and constants are stored as
--    bytes, never as text. With the table, pg_get_expr opens it (PostgreSQL 16 and
--    later), which at 10,000 tables costs more than the rest of the query.
SELECT dep.sequence_oid,
       ad.adrelid::int8,
       ad.adnum,
       CASE WHEN dep.sequence_oid IS NULL THEN 'late-bound default' ELSE 'default' END,
       e.expression
FROM pg_catalog.pg_attrdef AS ad
CROSS JOIN LATERAL (
        SELECT pg_catalog.pg_get_expr(
                   ad.adbin,
                   CASE WHEN ad.adbin::text LIKE '%%{VAR %%' THEN ad.adrelid ELSE 0 END
               ) AS expression) AS e
LEFT JOIN LATERAL (
        SELECT d.refobjid::int8 AS sequence_oid
        FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_class AS s ON s.oid = d.refobjid AND s.relkind = 'S'
        WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
          AND d.objid = ad.oid
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
        OFFSET 0) AS dep ON true
WHERE ad.adrelid = ANY (%(table_oids)s)
  AND (dep.sequence_oid IS NOT NULL OR e.expression LIKE '%%nextval(%%')
