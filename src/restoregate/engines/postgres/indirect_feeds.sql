-- Keys that something other than a plain nextval() default may feed, so that
-- restoregate can follow them or at least say it could not (never pass them silently):
-- 1. column defaults that call a user function (DEFAULT next_id()): the default
--    depends on the function. Functions that belong to an extension are left out
--    (uuid_generate_v4() and the like hand out no sequence values).
SELECT 'function' AS kind,
       ad.adrelid::int8 AS table_oid,
       a.attname AS column_name,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS detail,
       n.nspname AS function_schema,
       p.proname AS function_name,
       l.lanname AS language,
       CASE WHEN p.prosrc IS NULL OR p.prosrc = '' THEN pg_catalog.pg_get_functiondef(p.oid)
            ELSE p.prosrc END AS body,
       p.proconfig AS config
FROM pg_catalog.pg_attrdef AS ad
JOIN pg_catalog.pg_depend AS d
  ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
 AND d.objid = ad.oid
 AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
JOIN pg_catalog.pg_proc AS p ON p.oid = d.refobjid
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
LEFT JOIN pg_catalog.pg_depend AS ext
  ON ext.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
 AND ext.objid = p.oid
 AND ext.deptype = 'e'
WHERE ad.adrelid = ANY (%(table_oids)s)
  AND n.nspname <> 'pg_catalog'
  AND ext.objid IS NULL
UNION ALL
-- 2. user BEFORE INSERT ... FOR EACH ROW triggers (tgtype bits: 1 row, 2 before, 4 insert)
SELECT 'trigger',
       t.tgrelid::int8,
       NULL,
       t.tgname,
       n.nspname,
       p.proname,
       l.lanname,
       CASE WHEN p.prosrc IS NULL OR p.prosrc = '' THEN pg_catalog.pg_get_functiondef(p.oid)
            ELSE p.prosrc END,
       p.proconfig
FROM pg_catalog.pg_trigger AS t
JOIN pg_catalog.pg_proc AS p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
WHERE t.tgrelid = ANY (%(table_oids)s)
  AND NOT t.tgisinternal
  AND (t.tgtype::int4 & 7) = 7
