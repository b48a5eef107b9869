-- The privileges the grantees (an account and its active roles) hold at each level:
-- global, the database, a table.
SELECT 'global' AS level, NULL AS object, PRIVILEGE_TYPE AS privilege
FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN %(grantees)s
UNION ALL
SELECT 'schema', TABLE_SCHEMA, PRIVILEGE_TYPE
FROM information_schema.SCHEMA_PRIVILEGES
WHERE GRANTEE IN %(grantees)s AND TABLE_SCHEMA IN %(schemas)s
UNION ALL
SELECT 'table', CONCAT(TABLE_SCHEMA, '.', TABLE_NAME), PRIVILEGE_TYPE
FROM information_schema.TABLE_PRIVILEGES
WHERE GRANTEE IN %(grantees)s AND TABLE_SCHEMA IN %(schemas)s
