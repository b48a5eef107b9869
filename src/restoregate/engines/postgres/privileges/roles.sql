SELECT r.rolname FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY (%(roles)s)
