-- Constraints added NOT VALID (or left so by a restore): existing rows were never checked.
SELECT CASE WHEN con.contypid <> 0
            THEN pg_catalog.format('domain %%I.%%I', n.nspname, t.typname)
            ELSE pg_catalog.format('%%I.%%I', rn.nspname, r.relname) END
       || pg_catalog.format(' constraint %%I', con.conname) AS object,
       'not validated: existing rows were never checked' AS problem
FROM pg_catalog.pg_constraint AS con
LEFT JOIN pg_catalog.pg_class AS r ON r.oid = con.conrelid
LEFT JOIN pg_catalog.pg_namespace AS rn ON rn.oid = r.relnamespace
LEFT JOIN pg_catalog.pg_type AS t ON t.oid = con.contypid
LEFT JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
WHERE NOT con.convalidated
  AND (con.conrelid = ANY (%(table_oids)s) OR n.nspname = ANY (%(schemas)s))
ORDER BY 1
