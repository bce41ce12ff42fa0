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
def test_system_of_record_tests_pass_on_postgresql() -> None:
    env = dict(os.environ, DATABASE_URL=URL)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE),
            "--deselect",
            f"{HERE / 'test_postgres.py'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
