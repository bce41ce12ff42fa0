"""``fenji clv`` as a user meets it: estimates with standard errors, files written, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from fenji.cli import app

from ..engine.clv.conftest import cdnow_dir, needs_cdnow

runner = CliRunner()
SAMPLE = cdnow_dir() / "CDNOW_sample.txt"


@needs_cdnow
def test_fit_prints_both_models_with_standard_errors_and_the_histogram() -> None:
    result = runner.invoke(app, ["clv", "fit", "--orders", str(SAMPLE), "--as-of", "1997-09-30"])
    assert result.exit_code == 0, result.output
    for text in ("bgnbd", "gamma_gamma", "alpha", "0.2426", "std. error", "7+", "chi-square"):
        assert text in result.output


@needs_cdnow
def test_fit_as_json_has_estimates_errors_and_goodness_of_fit() -> None:
    result = runner.invoke(
        app, ["clv", "fit", "--orders", str(SAMPLE), "--as-of", "1997-09-30", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bgnbd"]["parameters"]["r"]["value"] > 0
    assert report["gamma_gamma"]["parameters"]["gamma"]["se"] > 0
    assert report["calibration_histogram"]["labels"][-1] == "7+"
    assert report["bgnbd"]["loglik"] < 0


@needs_cdnow
def test_predict_writes_one_row_per_customer(tmp_path: Path) -> None:
    out = tmp_path / "p.parquet"
    params = tmp_path / "models.json"
    result = runner.invoke(
        app,
        [
            "clv", "predict", "--orders", str(SAMPLE), "--as-of", "1997-09-30",
            "--horizon", "39 weeks", "--discount-rate", "0.01", "--out", str(out),
            "--params-out", str(params),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 2357
    assert {"customer_id", "p_alive", "expected_orders", "expected_spend", "clv"} <= set(
        table.column_names
    )
    assert json.loads(params.read_text())["bgnbd"]["customers"] == 2357


@needs_cdnow
def test_holdout_writes_the_figures_for_plotting(tmp_path: Path) -> None:
    out = tmp_path / "h.json"
    result = runner.invoke(
        app,
        [
            "clv", "holdout", "--orders", str(SAMPLE), "--as-of", "1997-09-30",
            "--holdout-end", "1998-06-30", "--json", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert len(report["holdout"]["rows"]) == 8
    assert len(report["tracking"]["week_ending"]) == 78
    assert report["tracking"]["week_ending"][-1] == "1998-06-30"


def test_too_little_history_is_a_clear_error_not_a_nan(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,business_line,order_date,amount,quantity,channel\n"
        + "".join(f"O{i},C{i},retail,2024-01-0{1 + i % 5},10,1,shop\n" for i in range(30)),
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["clv", "fit", "--orders", str(orders), "--as-of", "2024-03-31", "--time-unit", "day"]
    )
    assert result.exit_code == 1
    assert "clv.too_few_repeaters" in result.output
    assert "0 of them with a repeat purchase" in result.output


def test_bad_options_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["clv", "fit", "--orders", str(tmp_path / "x.csv"), "--as-of", "1997-09-30"]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output
    result = runner.invoke(
        app,
        ["clv", "fit", "--orders", "x", "--as-of", "1997-09-30", "--time-unit", "month"],
    )
    assert result.exit_code == 2
    assert "day or week" in result.output
