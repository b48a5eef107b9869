-- What the grantees (an account and its active roles) hold at each level, read from the
-- grant tables themselves: global from mysql.user, a database (Db: a LIKE pattern) from
-- mysql.db, a table from mysql.tables_priv. Only the privilege columns of mysql.user are
-- read, never a password column, so the checking account needs SELECT on those columns
-- alone (see the README's recipe). privileges: a comma list in the server's words.
SELECT 'global' AS level, NULL AS db, NULL AS tbl,
       CONCAT_WS(',',
           IF(Select_priv = 'Y', 'SELECT', NULL), IF(Insert_priv = 'Y', 'INSERT', NULL),
           IF(Update_priv = 'Y', 'UPDATE', NULL), IF(Delete_priv = 'Y', 'DELETE', NULL),
           IF(Create_priv = 'Y', 'CREATE', NULL), IF(Drop_priv = 'Y', 'DROP', NULL),
           IF(References_priv = 'Y', 'REFERENCES', NULL), IF(Index_priv = 'Y', 'INDEX', NULL),
           IF(Alter_priv = 'Y', 'ALTER', NULL), IF(Lock_tables_priv = 'Y', 'LOCK TABLES', NULL),
           IF(Trigger_priv = 'Y', 'TRIGGER', NULL)) AS privileges
FROM mysql.user WHERE (User, Host) IN %(grantees)s
UNION ALL
SELECT 'schema', Db, NULL,
       CONCAT_WS(',',
           IF(Select_priv = 'Y', 'SELECT', NULL), IF(Insert_priv = 'Y', 'INSERT', NULL),
           IF(Update_priv = 'Y', 'UPDATE', NULL), IF(Delete_priv = 'Y', 'DELETE', NULL),
           IF(Create_priv = 'Y', 'CREATE', NULL), IF(Drop_priv = 'Y', 'DROP', NULL),
           IF(References_priv = 'Y', 'REFERENCES', NULL), IF(Index_priv = 'Y', 'INDEX', NULL),
           IF(Alter_priv = 'Y', 'ALTER', NULL), IF(Lock_tables_priv = 'Y', 'LOCK TABLES', NULL),
           IF(Trigger_priv = 'Y', 'TRIGGER', NULL))
FROM mysql.db WHERE (User, Host) IN %(grantees)s
UNION ALL
SELECT 'table', Db, Table_name, CAST(Table_priv AS CHAR)
FROM mysql.tables_priv WHERE (User, Host) IN %(grantees)s AND Db IN %(schemas)s
