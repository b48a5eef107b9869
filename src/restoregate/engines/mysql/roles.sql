-- Which of the named accounts exist: mysql.user lists every account and role (a MariaDB
-- role's Host is ''); only its User and Host columns are read.
SELECT User AS user, Host AS host
FROM mysql.user
WHERE (User, Host) IN %(grantees)s
