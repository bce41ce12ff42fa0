"""The system-of-record tests again, on PostgreSQL.

CI machines have PostgreSQL at 127.0.0.1:5432; ``.ci/run`` sets ``FENJI_TEST_POSTGRES_URL`` to
it. Elsewhere this test is skipped and says why. The folder's tests run in a fresh interpreter
with ``DATABASE_URL`` pointing at PostgreSQL, so the same tests, models and migrations are
exercised on both databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

URL = os.environ.get("FENJI_TEST_POSTGRES_URL", "")
HERE = Path(__file__).parent


@pytest.mark.skipif(
    not URL,
    reason="FENJI_TEST_POSTGRES_URL is not set: no PostgreSQL to run the system-of-record "
    "tests on (CI sets it; e.g. postgres://postgres@127.0.0.1:5432/postgres)",
)
@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="already running on PostgreSQL",
)
@pytest.mark.parametrize("part", ["system", "ui"])
def test_system_of_record_tests_pass_on_postgresql(part: str) -> None:
    """Two halves (the system of record; the web UI's pages and API), so that both test
    workers share the rerun. Browser tests are not rerun: they drive the same pages the UI
    tests cover on both databases."""
    env = dict(os.environ, DATABASE_URL=URL, FENJI_TEST_DB_SUFFIX=part)
    if part == "ui":
        targets = [str(HERE / "ui")]
    else:
        targets = [
            str(HERE),
            "--ignore",
            str(HERE / "ui"),
            "--ignore",
            str(HERE / "browser"),
            "--deselect",
            f"{HERE / 'test_postgres.py'}",
        ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
