-- Declared foreign keys whose child is in the DSN's database, one row per column pair.
SELECT k.CONSTRAINT_NAME AS name,
       k.TABLE_SCHEMA AS child_schema,
       k.TABLE_NAME AS child_table,
       k.COLUMN_NAME AS child_column,
       k.REFERENCED_TABLE_SCHEMA AS parent_schema,
       k.REFERENCED_TABLE_NAME AS parent_table,
       k.REFERENCED_COLUMN_NAME AS parent_column,
       r.MATCH_OPTION AS match_option
FROM information_schema.KEY_COLUMN_USAGE AS k
JOIN information_schema.REFERENTIAL_CONSTRAINTS AS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
 AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
 AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = %(db)s
  AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
