"""The database of reads (SQLite by default, PostgreSQL by URL) and the content-addressed image files."""
