-- Logical replication subscriptions that came back with the restore: they carry the old
-- publisher's connection string and connect to it once enabled (the string itself is
-- never read: it may hold a password).
SELECT pg_catalog.format('subscription %%I', s.subname) AS object,
       CASE WHEN s.subenabled THEN 'enabled: it replicates from the old publisher now'
            ELSE 'restored disabled, with the old publisher''s connection string' END AS problem
FROM pg_catalog.pg_subscription AS s
WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database AS d
                   WHERE d.datname = pg_catalog.current_database())
ORDER BY 1
