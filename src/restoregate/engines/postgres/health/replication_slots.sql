-- Inactive replication slots keep WAL (and old rows, for logical slots) forever.
SELECT pg_catalog.format('replication slot %%I', s.slot_name) AS object,
       pg_catalog.format('inactive %%s slot holding WAL since %%s', s.slot_type, s.restart_lsn)
       AS problem
FROM pg_catalog.pg_replication_slots AS s
WHERE NOT s.active
  AND (s.database IS NULL OR s.database = pg_catalog.current_database())
ORDER BY 1
