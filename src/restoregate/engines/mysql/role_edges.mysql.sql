-- MySQL 8: granted roles (role_edges: FROM is the role, TO the account that holds it),
-- default roles (SET DEFAULT ROLE), and the two settings that activate roles at login.
SELECT 'edge' AS what, TO_USER AS user, TO_HOST AS host, FROM_USER AS role_user,
       FROM_HOST AS role_host
FROM mysql.role_edges
UNION ALL
SELECT 'default', USER, HOST, DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST
FROM mysql.default_roles
UNION ALL
SELECT 'setting', 'activate_all_roles_on_login', '', CAST(@@GLOBAL.activate_all_roles_on_login AS CHAR), ''
UNION ALL
SELECT 'setting', 'mandatory_roles', '', CAST(@@GLOBAL.mandatory_roles AS CHAR), ''
