-- Every column of every user table: one query through the table-valued pragma.
SELECT m.name AS table_name, p.name, p.type, p."notnull" AS not_null, p.pk, p.hidden
FROM main.sqlite_master AS m
JOIN pragma_table_xinfo(m.name, 'main') AS p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, p.cid
