-- Which of the named accounts exist ('user'@'host', as GRANTEE spells them).
SELECT DISTINCT GRANTEE AS grantee
FROM information_schema.USER_PRIVILEGES
WHERE GRANTEE IN %(grantees)s
