-- Every user table, with the CREATE text (it says AUTOINCREMENT and WITHOUT ROWID).
SELECT name, sql
FROM main.sqlite_master
WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY name
