"""``fenji demo`` builds a graded company in its own database, and a second run duplicates
nothing (the README's main command must be safe to run twice)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from fenji.shipped import shipped_policies

COUNTS = {
    "customers": "SELECT COUNT(*) FROM customers_customer",
    "orders": "SELECT COUNT(*) FROM facts_order",
    "versions": "SELECT COUNT(*) FROM policies_policyversion",
    "runs": "SELECT COUNT(*) FROM evaluations_evaluationrun",
    "published": "SELECT COUNT(*) FROM evaluations_publication",
}


def demo(folder: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENJI_DB")}
    env["COLUMNS"] = "200"
    run = subprocess.run(
        [sys.executable, "-m", "fenji.cli", "demo", "--dir", str(folder), "--customers", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {k: con.execute(q).fetchone()[0] for k, q in COUNTS.items()}
    finally:
        con.close()


def test_demo_grades_a_year_of_month_ends_and_is_idempotent(tmp_path: Path) -> None:
    first = demo(tmp_path / "demo")
    db = tmp_path / "demo" / "fenji.sqlite3"
    after_first = counts(db)
    assert after_first["customers"] == 120
    shipped = len(shipped_policies())
    assert after_first["published"] == shipped
    assert after_first["runs"] == shipped * 12
    assert "tob_abcd" in first
    second = demo(tmp_path / "demo")
    assert counts(db) == after_first
    created = [int(n) for n in re.findall(r"新增 (\d+)", second)]
    assert created
    assert not any(created)
