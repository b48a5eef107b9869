-- The DSN's database's tables (MariaDB SEQUENCE objects are listed as tables too).
SELECT TABLE_NAME AS name,
       TABLE_TYPE AS type,
       ENGINE AS engine,
       TABLE_ROWS AS estimated_rows,
       AUTO_INCREMENT AS auto_increment
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %(db)s
  AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE', 'SYSTEM VERSIONED')
ORDER BY TABLE_NAME
