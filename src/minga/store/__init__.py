"""The event store: every accepted event, every version, on SQLite or PostgreSQL."""
