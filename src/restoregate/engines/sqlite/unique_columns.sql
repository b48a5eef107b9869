-- Columns of UNIQUE indexes (constraints included): keys a reference may point at.
-- An expression column has no name; a partial index is no key of the whole table.
SELECT m.name AS table_name, i.name AS index_name, c.name AS column_name,
       c.seqno AS position, i.partial AS partial, i.origin AS origin
FROM main.sqlite_master AS m
JOIN pragma_index_list(m.name, 'main') AS i
JOIN pragma_index_info(i.name, 'main') AS c
WHERE m.type = 'table' AND i."unique" = 1
ORDER BY m.name, i.name, c.seqno
