"""Storage: SQLModel tables, the async engine, sessions and schema migrations."""
