-- Which of the named accounts exist ('user'@'host', as GRANTEE spells them); a MariaDB
-- role has no global row, but the privileges granted to it name it too.
SELECT DISTINCT GRANTEE AS grantee
FROM information_schema.USER_PRIVILEGES
WHERE GRANTEE IN %(grantees)s
UNION
SELECT DISTINCT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES
WHERE GRANTEE IN %(grantees)s
UNION
SELECT DISTINCT GRANTEE FROM information_schema.TABLE_PRIVILEGES
WHERE GRANTEE IN %(grantees)s
