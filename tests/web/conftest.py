"""System-of-record tests run on the database Django is configured with: SQLite by default,
PostgreSQL when ``DATABASE_URL`` points at one (``test_postgres.py`` reruns this folder so)."""
