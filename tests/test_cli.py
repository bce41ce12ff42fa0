"""The command line as a user meets it: clear errors, nothing written on failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fenji.cli import app

from .conftest import POLICIES, acceptance_dir

runner = CliRunner()


def tob(command: str, data: Path, as_of: str, *extra: str) -> list[str]:
    """Arguments of ``fenji COMMAND`` with the S1 policy over ``data`` at ``as_of``."""
    return [
        command,
        "-p",
        str(POLICIES / "tob_abcd.yaml"),
        "-d",
        str(data),
        "--as-of",
        as_of,
        *extra,
    ]


DATA = acceptance_dir() / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"acceptance data not found at {DATA}")


def test_policy_check_accepts_every_shipped_policy() -> None:
    result = runner.invoke(app, ["policy", "check", *map(str, sorted(POLICIES.glob("*.yaml")))])
    assert result.exit_code == 0, result.output
    assert "✓" in result.output


def test_policy_check_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "fenji: 1\nname: bad\ntitle: bad\nmetrics:\n"
        "  s: {agg: sum, from: orders, of: amount}\n"
        "dimensions:\n"
        "  d:\n    method: bands\n    metric: s\n    bands:\n"
        "      - {label: A, min: 10}\n      - {label: B, min: 20}\n      - {label: C}\n"
        "  e: {method: rules, rules: [{label: X, when: \"read_text('/etc/passwd') > 0\"}]}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:12" in result.output
    assert "dimensions.d.bands[1].min" in result.output
    assert "read_text" in result.output


@needs_data
def test_bad_as_of_date_is_explained() -> None:
    result = runner.invoke(
        app,
        tob("evaluate", DATA, "31/10/2026"),
    )
    assert result.exit_code == 2
    assert "2026-10-31" in result.output


@needs_data
def test_bad_row_is_reported_and_nothing_is_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    orders = data / "orders.csv"
    lines = orders.read_text(encoding="utf-8").splitlines()
    fields = lines[5].split(",")
    fields[4] = "12,3a4"
    lines[5] = ",".join(fields[:4]) + ',"12,3a4",' + ",".join(fields[5:])
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        tob("evaluate", data, "2026-10-31", "--out", str(out)),
    )
    assert result.exit_code == 1
    assert "orders.csv" in result.output
    assert "第 6 行" in result.output
    assert "amount" in result.output
    assert "12,3a4" in result.output
    assert not out.exists()
    english = runner.invoke(
        app,
        tob("evaluate", data, "2026-10-31", "--out", str(out), "--lang", "en"),
    )
    assert english.exit_code == 1
    assert "row 6" in english.output
    assert not out.exists()


@needs_data
def test_explain_prints_why_for_every_dimension() -> None:
    result = runner.invoke(
        app,
        tob("explain", DATA, "2026-10-31", "--customer", "C00002"),
    )
    assert result.exit_code == 0, result.output
    assert "销售额" in result.output
    assert "还差" in result.output


@needs_data
def test_explain_unknown_customer_is_a_clear_error() -> None:
    result = runner.invoke(
        app,
        tob("explain", DATA, "2026-10-31", "--customer", "NOPE"),
    )
    assert result.exit_code == 1
    assert "NOPE" in result.output


@needs_data
def test_evaluate_writes_xlsx_and_parquet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    for suffix in ("xlsx", "parquet"):
        out = tmp_path / f"r.{suffix}"
        result = runner.invoke(
            app,
            tob("evaluate", DATA, "2026-10-31", "--out", str(out), "--quiet"),
        )
        assert result.exit_code == 0, result.output
        if suffix == "parquet":
            assert pq.read_table(out).num_rows == 60
        else:
            assert load_workbook(out).active.max_row == 61
