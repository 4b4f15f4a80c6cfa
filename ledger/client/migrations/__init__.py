"""The journal's Alembic environment: the only way the journal's schema is created or changed."""
