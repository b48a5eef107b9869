-- Declared foreign keys (restores usually load them with foreign_keys=OFF).
SELECT m.name AS child_table, f.id, f.seq, f."table" AS parent_table, f."from" AS child_column,
       f."to" AS parent_column, f."match" AS match_option
FROM main.sqlite_master AS m
JOIN pragma_foreign_key_list(m.name, 'main') AS f
WHERE m.type = 'table'
ORDER BY m.name, f.id, f.seq
