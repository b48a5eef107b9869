-- Triggers that will not fire: disabled (D) or replica-only (R), foreign-key (internal)
-- triggers included; and disabled event triggers.
SELECT pg_catalog.format('%%I.%%I trigger %%I', n.nspname, c.relname, t.tgname) AS object,
       CASE t.tgenabled WHEN 'D' THEN 'disabled' ELSE 'fires only in replica sessions' END
       || CASE WHEN t.tgisinternal THEN ' (enforces a foreign key: orphans can get in)'
               ELSE '' END AS problem
FROM pg_catalog.pg_trigger AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE t.tgrelid = ANY (%(table_oids)s)
  AND t.tgenabled IN ('D', 'R')
UNION ALL
SELECT pg_catalog.format('event trigger %%I', e.evtname),
       CASE e.evtenabled WHEN 'D' THEN 'disabled' ELSE 'fires only in replica sessions' END
FROM pg_catalog.pg_event_trigger AS e
WHERE e.evtenabled IN ('D', 'R')
ORDER BY 1
