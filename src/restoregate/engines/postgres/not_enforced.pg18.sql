-- PostgreSQL 18: foreign keys declared NOT ENFORCED (no RI triggers at all).
SELECT con.oid::int8 AS oid
FROM pg_catalog.pg_constraint AS con
WHERE con.contype = 'f'
  AND NOT con.conenforced
  AND con.conrelid = ANY (%(table_oids)s)
