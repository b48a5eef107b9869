"""Database engines: one folder each, chosen by the DSN's scheme."""
