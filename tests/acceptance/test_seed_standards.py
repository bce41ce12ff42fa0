"""Acceptance: every shipped seed-standard policy on the acceptance scenario, cell by cell.

Runs the real command line as a user would (``fenji evaluate ... --out result.csv``) and
compares the CSV with the expected results: labels exactly, scores within 0.01. The same data
re-encoded as GB18030, and converted to Parquet and XLSX, must give the same results.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from fenji.cli import app
from fenji.io import write_table

from ..conftest import POLICIES, acceptance_dir

SCENARIO = acceptance_dir()
AS_OF = "2026-10-31"
CASES = {
    "tob_abcd": ["customer_id"],
    "value_abcd": ["customer_id"],
    "ei_matrix": ["customer_id"],
    "dealer_monthly": ["customer_id", "business_line"],
    "classes": ["customer_id"],
    "rfm8": ["customer_id"],
}

pytestmark = pytest.mark.skipif(
    not SCENARIO.is_dir(),
    reason=f"acceptance scenario not found at {SCENARIO} (FENJI_ACCEPTANCE_DIR)",
)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def evaluate_to_csv(policy: str, data: Path, out: Path) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--policy",
            str(POLICIES / f"{policy}.yaml"),
            "--data",
            str(data),
            "--as-of",
            AS_OF,
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    return read_rows(out)


def compare(policy: str, rows: list[dict[str, str]]) -> list[str]:
    keys = CASES[policy]
    expected = read_rows(SCENARIO / "expected" / f"{policy}.csv")
    got = {tuple(r[k] for k in keys): r for r in rows}
    problems: list[str] = []
    for want in expected:
        key = tuple(want[k] for k in keys)
        have = got.get(key)
        if have is None:
            problems.append(f"{key}: missing row")
            continue
        for column, value in want.items():
            if column in keys:
                continue
            if column not in have:
                problems.append(f"missing column {column}")
                continue
            actual = have[column]
            if column.endswith(".score"):
                if abs(float(value) - float(actual)) > 0.01:
                    problems.append(f"{key} {column}: expected {value}, got {actual}")
            elif actual != value:
                problems.append(f"{key} {column}: expected {value!r}, got {actual!r}")
    return problems


@pytest.mark.parametrize("policy", sorted(CASES))
def test_policy_gives_the_expected_labels(policy: str, tmp_path: Path) -> None:
    rows = evaluate_to_csv(policy, SCENARIO / "data", tmp_path / "result.csv")
    problems = compare(policy, rows)
    assert not problems, "\n".join(problems[:20])


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The scenario data as GB18030 CSV, as Parquet and as XLSX."""
    base = tmp_path_factory.mktemp("variants")
    out: dict[str, Path] = {}
    gb = base / "gb18030"
    gb.mkdir()
    for f in (SCENARIO / "data").glob("*.csv"):
        (gb / f.name).write_bytes(f.read_text(encoding="utf-8-sig").encode("gb18030"))
    out["gb18030"] = gb
    for fmt in ("parquet", "xlsx"):
        folder = base / fmt
        folder.mkdir()
        for f in (SCENARIO / "data").glob("*.csv"):
            table = pacsv.read_csv(
                f, convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=True)
            )
            if fmt == "parquet":
                # Parquet as other tools write it: plain strings and numbers.
                write_table(table, folder / f"{f.stem}.parquet")
            else:
                write_table(table, folder / f"{f.stem}.xlsx")
        out[fmt] = folder
    bom = base / "bom"
    shutil.copytree(SCENARIO / "data", bom)
    for f in bom.glob("*.csv"):
        f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    out["utf8-bom"] = bom
    return out


@pytest.mark.parametrize("variant", ["gb18030", "parquet", "xlsx", "utf8-bom"])
@pytest.mark.parametrize("policy", ["tob_abcd", "dealer_monthly"])
def test_other_encodings_and_formats_give_the_same_results(
    policy: str, variant: str, variants: dict[str, Path], tmp_path: Path
) -> None:
    rows = evaluate_to_csv(policy, variants[variant], tmp_path / "result.csv")
    problems = compare(policy, rows)
    assert not problems, "\n".join(problems[:20])
