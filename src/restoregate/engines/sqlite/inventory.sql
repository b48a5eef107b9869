-- Every restorable object as (kind, identity, detail).
SELECT type AS kind, 'main.' || name AS identity, NULL AS detail
FROM main.sqlite_master
WHERE type IN ('table', 'index', 'view', 'trigger') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY 1, 2
