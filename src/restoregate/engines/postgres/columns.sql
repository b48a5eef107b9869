-- The live columns of the given tables, with the base type behind any domain.
SELECT a.attrelid::int8 AS table_oid,
       a.attnum AS attnum,
       a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name,
       bt.base_type,
       bt.oid::int8 AS type_oid,
       bt.numeric,
       a.attnotnull AS not_null,
       -- in a unique index / leading a valid, non-partial btree index of its type's
       -- default operator class (an anti-join can walk it in key order:
       -- grouped.walks_indexes). Each IN is one hashed subplan over pg_index, not an
       -- index probe per column (10,000 tables: 58 ms instead of 77 for the query).
       (a.attrelid, a.attnum) IN (SELECT i.indrelid, pg_catalog.unnest(i.indkey)
                                  FROM pg_catalog.pg_index AS i
                                  WHERE i.indisunique) AS key,
       (a.attrelid, a.attnum) IN (SELECT i.indrelid, i.indkey[0]
                                  FROM pg_catalog.pg_index AS i
                                  JOIN pg_catalog.pg_opclass AS oc ON oc.oid = i.indclass[0]
                                  WHERE i.indisvalid
                                    AND i.indpred IS NULL
                                    AND oc.opcdefault
                                    AND oc.opcmethod = (SELECT am.oid FROM pg_catalog.pg_am AS am
                                                        WHERE am.amname = 'btree')) AS ordered
FROM pg_catalog.pg_attribute AS a
-- the base type behind any domain, named once per type (Memoize), not once per column
JOIN LATERAL (SELECT b.oid, pg_catalog.format_type(b.oid, NULL) AS base_type,
                     b.typcategory = 'N' AS numeric
              FROM pg_catalog.pg_type AS t
              JOIN pg_catalog.pg_type AS b
                ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
              WHERE t.oid = a.atttypid
              OFFSET 0) AS bt ON true
WHERE a.attrelid = ANY (%(table_oids)s)
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
