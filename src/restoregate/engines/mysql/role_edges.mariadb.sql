-- MariaDB: who holds which role (a role granted to a role has Host ''), and each account's
-- default role, the one active at login (SET DEFAULT ROLE).
SELECT 'edge' AS what, User AS user, Host AS host, Role AS role_user, '' AS role_host
FROM mysql.roles_mapping
UNION ALL
SELECT 'default', User, Host, default_role, ''
FROM mysql.user
WHERE default_role IS NOT NULL AND default_role <> ''
