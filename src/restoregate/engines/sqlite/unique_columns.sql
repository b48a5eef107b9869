-- Columns of UNIQUE indexes (constraints included): keys a reference may point at.
SELECT m.name AS table_name, i.name AS index_name, c.name AS column_name
FROM main.sqlite_master AS m
JOIN pragma_index_list(m.name, 'main') AS i
JOIN pragma_index_info(i.name, 'main') AS c
WHERE m.type = 'table' AND i."unique" = 1
