-- PostgreSQL 18: constraints declared NOT ENFORCED are never checked at all.
SELECT pg_catalog.format('%%I.%%I constraint %%I', rn.nspname, r.relname, con.conname) AS object,
       'not enforced: new rows are not checked either' AS problem
FROM pg_catalog.pg_constraint AS con
JOIN pg_catalog.pg_class AS r ON r.oid = con.conrelid
JOIN pg_catalog.pg_namespace AS rn ON rn.oid = r.relnamespace
WHERE NOT con.conenforced
  AND con.conrelid = ANY (%(table_oids)s)
ORDER BY 1
