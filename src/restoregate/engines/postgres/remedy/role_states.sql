-- The roles asked for (or, with fenced_only, every role carrying a fence record).
SELECT r.rolname::text, r.rolcanlogin,
       pg_catalog.shobj_description(r.oid, 'pg_authid'),
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity AS a
         WHERE a.usesysid = r.oid)::int4
FROM pg_catalog.pg_roles AS r
WHERE CASE WHEN %(fenced_only)s
           THEN pg_catalog.starts_with(
                    COALESCE(pg_catalog.shobj_description(r.oid, 'pg_authid'), ''), %(mark)s)
           ELSE r.rolname = ANY (%(roles)s::text[]) END
ORDER BY r.rolname
