-- What the grantees (an account and its active roles) hold at each level, read from the
-- grant tables themselves: global from mysql.user, a database (Db: a LIKE pattern) from
-- mysql.db, a table of the schemas from mysql.tables_priv. Only the privilege columns of
-- mysql.user are read, never a password column, so the checking account needs SELECT on
-- those columns alone (see the README's recipe). privileges: a comma list in the
-- server's words.
SELECT g.level, g.db, NULL AS tbl,
       CONCAT_WS(',',
           IF(g.Select_priv = 'Y', 'SELECT', NULL), IF(g.Insert_priv = 'Y', 'INSERT', NULL),
           IF(g.Update_priv = 'Y', 'UPDATE', NULL), IF(g.Delete_priv = 'Y', 'DELETE', NULL),
           IF(g.Create_priv = 'Y', 'CREATE', NULL), IF(g.Drop_priv = 'Y', 'DROP', NULL),
           IF(g.References_priv = 'Y', 'REFERENCES', NULL),
           IF(g.Index_priv = 'Y', 'INDEX', NULL), IF(g.Alter_priv = 'Y', 'ALTER', NULL),
           IF(g.Lock_tables_priv = 'Y', 'LOCK TABLES', NULL),
           IF(g.Trigger_priv = 'Y', 'TRIGGER', NULL)) AS privileges
FROM (
    SELECT 'global' AS level, NULL AS db, Select_priv, Insert_priv, Update_priv, Delete_priv,
           Create_priv, Drop_priv, References_priv, Index_priv, Alter_priv, Lock_tables_priv,
           Trigger_priv
    FROM mysql.user WHERE (User, Host) IN %(grantees)s
    UNION ALL
    SELECT 'schema', Db, Select_priv, Insert_priv, Update_priv, Delete_priv,
           Create_priv, Drop_priv, References_priv, Index_priv, Alter_priv, Lock_tables_priv,
           Trigger_priv
    FROM mysql.db WHERE (User, Host) IN %(grantees)s
) AS g
UNION ALL
SELECT 'table', Db, Table_name, CAST(Table_priv AS CHAR)
FROM mysql.tables_priv WHERE (User, Host) IN %(grantees)s AND Db IN %(schemas)s
