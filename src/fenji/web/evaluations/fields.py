"""Model fields of the run tables."""

from __future__ import annotations

from typing import Any

from django.db import models


class RowIdField(models.BigAutoField):  # type: ignore[type-arg]
    """A ``BigAutoField`` that SQLite keeps as a plain rowid, without ``AUTOINCREMENT``.

    With ``AUTOINCREMENT`` SQLite updates its ``sqlite_sequence`` table for every row a bulk
    insert adds: 15-20% of the time a run takes to write its 250,000 result rows. Without it
    SQLite still gives each new row the largest id plus one; it could only give an id again
    after the rows with the largest ids were deleted, and nothing refers to the rows of a run
    by id. PostgreSQL keeps its identity column."""

    def db_type_suffix(self, connection: Any) -> str | None:
        if connection.vendor == "sqlite":
            return None
        suffix: str | None = super().db_type_suffix(connection)
        return suffix
