-- Inactive logical replication slots of this database keep WAL and old rows forever.
-- Physical slots belong to the server, not to anything a dump carries: see
-- physical_slots.sql, an advisory.
SELECT pg_catalog.format('replication slot %%I', s.slot_name) AS object,
       pg_catalog.format('inactive logical slot holding WAL since %%s', s.restart_lsn)
       AS problem
FROM pg_catalog.pg_replication_slots AS s
WHERE NOT s.active
  AND s.slot_type = 'logical'
  AND s.database = pg_catalog.current_database()
ORDER BY 1
