"""restoregate's benchmarks: one command per case (``python -m benchmarks CASE``).

- ``rows``: millions of rows, restoregate against the minimal hand-written SQL
- ``schema``: thousands of tables, beside ``pg_dump --schema-only``
- ``medium``: many medium tables, ``check --jobs 1`` beside ``--jobs 2``

See benchmarks/README.md.
"""
