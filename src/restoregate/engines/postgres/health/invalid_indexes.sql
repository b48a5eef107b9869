-- Indexes a restore left unusable: a failed CREATE INDEX CONCURRENTLY, a partitioned
-- index missing partitions, a build interrupted.
SELECT pg_catalog.format('%%I.%%I', n.nspname, i.relname) AS object,
       CASE WHEN NOT ix.indislive THEN 'index is being dropped'
            ELSE 'index is invalid'
            || CASE WHEN NOT ix.indisready THEN ' (its build never finished)' ELSE '' END
            || ': queries will not use it'
            || CASE WHEN ix.indisunique THEN ' and uniqueness is not enforced' ELSE '' END
       END AS problem
FROM pg_catalog.pg_index AS ix
JOIN pg_catalog.pg_class AS i ON i.oid = ix.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = i.relnamespace
WHERE ix.indrelid = ANY (%(table_oids)s)
  AND NOT (ix.indisvalid AND ix.indisready AND ix.indislive)
ORDER BY 1
