"""PostgreSQL's side of ``restoregate fix`` and ``fence``: the SQL, and the write session."""
