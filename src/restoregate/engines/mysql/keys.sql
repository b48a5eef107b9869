-- The unique keys of the DSN's database's tables, the primary key first. An index over a
-- column prefix (SUB_PART) or an expression (no COLUMN_NAME) is no key of the column.
SELECT TABLE_NAME AS table_name,
       INDEX_NAME AS index_name,
       COLUMN_NAME AS column_name,
       SEQ_IN_INDEX AS position,
       SUB_PART AS sub_part
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = %(db)s AND NON_UNIQUE = 0
ORDER BY TABLE_NAME, INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX
