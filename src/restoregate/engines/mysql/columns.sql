-- Every column of those tables, with what makes it a key or a counter, and the collation
-- its values compare under (NULL for numbers, times, binary strings).
SELECT TABLE_NAME AS table_name,
       COLUMN_NAME AS name,
       COLUMN_TYPE AS column_type,
       DATA_TYPE AS data_type,
       IS_NULLABLE = 'NO' AS not_null,
       COLUMN_KEY IN ('PRI', 'UNI') AS is_key,
       EXTRA AS extra,
       COLUMN_DEFAULT AS column_default,
       COLLATION_NAME AS collation
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = %(db)s
ORDER BY TABLE_NAME, ORDINAL_POSITION
