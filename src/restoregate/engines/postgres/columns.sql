-- The live columns of the given tables, with the base type behind any domain.
SELECT a.attrelid::int8 AS table_oid,
       a.attnum AS attnum,
       a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name,
       pg_catalog.format_type(bt.oid, NULL) AS base_type,
       bt.oid::int8 AS type_oid,
       bt.typcategory = 'N' AS numeric,
       a.attnotnull AS not_null,
       EXISTS (SELECT 1
               FROM pg_catalog.pg_index AS i
               WHERE i.indrelid = a.attrelid
                 AND i.indisunique
                 AND a.attnum = ANY (i.indkey)) AS key,
       -- leads a valid, non-partial btree index of its type's default operator class:
       -- an anti-join can walk it in key order (grouped.walks_indexes)
       EXISTS (SELECT 1
               FROM pg_catalog.pg_index AS i
               JOIN pg_catalog.pg_opclass AS oc ON oc.oid = i.indclass[0]
               WHERE i.indrelid = a.attrelid
                 AND i.indkey[0] = a.attnum
                 AND i.indisvalid
                 AND i.indpred IS NULL
                 AND oc.opcdefault
                 AND oc.opcmethod = (SELECT am.oid FROM pg_catalog.pg_am AS am
                                     WHERE am.amname = 'btree')) AS ordered
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type AS bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE a.attrelid = ANY (%(table_oids)s)
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
