"""System-of-record tests run on the database Django is configured with: SQLite by default,
PostgreSQL when ``DATABASE_URL`` points at one (``test_postgres.py`` reruns this folder so)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The SQLite test database is a file, not Django's in-memory default: evaluation runs are
    tested across processes (a second run refused, a run killed with SIGKILL), and other
    processes can only open a database that is a file. Each xdist worker has its own."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" in db["ENGINE"]:
        # Test sessions running at once (the two halves of the PostgreSQL rerun, or a developer's
        # runs side by side) each get a database of their own.
        test = db.setdefault("TEST", {})
        suffix = os.environ.get("FENJI_TEST_DB_SUFFIX", "") + str(os.getpid())
        test["NAME"] = f"test_{db['NAME']}_{suffix}"
    if db["ENGINE"].endswith("sqlite3"):
        test = db.setdefault("TEST", {})
        if not test.get("NAME"):
            test["NAME"] = str(Path(tmp_path_factory.getbasetemp()) / "fenji-test.sqlite3")
