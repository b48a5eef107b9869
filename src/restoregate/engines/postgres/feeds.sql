-- Every link between a sequence and a column of the given tables.
-- 1. identity columns (deptype 'i') and OWNED BY / serial (deptype 'a'):
--    the sequence depends on the column.
SELECT d.objid::int8 AS sequence_oid,
       d.refobjid::int8 AS table_oid,
       a.attname AS column_name,
       CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS kind,
       NULL::text AS expression
FROM pg_catalog.pg_depend AS d
JOIN pg_catalog.pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.deptype IN ('a', 'i')
  AND d.refobjsubid > 0
  AND d.refobjid = ANY (%(table_oids)s)
UNION ALL
-- 2. defaults calling nextval('seq'::regclass): the default depends on the sequence.
--    Covers shared sequences and sequences in other schemas.
SELECT d.refobjid::int8,
       ad.adrelid::int8,
       a.attname,
       'default',
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
FROM pg_catalog.pg_attrdef AS ad
JOIN pg_catalog.pg_depend AS d
  ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
 AND d.objid = ad.oid
 AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
JOIN pg_catalog.pg_class AS s ON s.oid = d.refobjid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
WHERE ad.adrelid = ANY (%(table_oids)s)
UNION ALL
-- 3. defaults calling nextval('seq'::text): resolved at insert time, no dependency.
SELECT NULL,
       ad.adrelid::int8,
       a.attname,
       'late-bound default',
       e.expression
FROM pg_catalog.pg_attrdef AS ad
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
CROSS JOIN LATERAL (SELECT pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expression) AS e
WHERE ad.adrelid = ANY (%(table_oids)s)
  AND e.expression LIKE '%%nextval(%%'
  AND NOT EXISTS (
        SELECT 1
        FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_class AS s ON s.oid = d.refobjid AND s.relkind = 'S'
        WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
          AND d.objid = ad.oid)
