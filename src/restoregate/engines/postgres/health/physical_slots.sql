-- Inactive physical replication slots: the server's state, never a restore's. Reported
-- as an advisory only: WAL piles up until the slot is used or dropped.
SELECT pg_catalog.format('replication slot %%I', s.slot_name) AS object,
       pg_catalog.format('inactive physical slot holding WAL since %%s (the server''s, '
                         'not the restore''s)', s.restart_lsn) AS problem
FROM pg_catalog.pg_replication_slots AS s
WHERE NOT s.active
  AND s.slot_type = 'physical'
ORDER BY 1
