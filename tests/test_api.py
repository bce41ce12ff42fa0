"""The Python API for notebooks: policies as paths or text, data as frames, tables or paths."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

import fenji
from fenji.io.errors import DataError

from .conftest import POLICIES, acceptance_dir

DATA = acceptance_dir() / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"acceptance data not found at {DATA}")


def frames() -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(DATA / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("customers", "orders")
    }


def test_pandas_frames_give_the_same_labels_as_files() -> None:
    from_files = fenji.evaluate(POLICIES / "tob_abcd.yaml", DATA, "2026-10-31").labels
    from_frames = fenji.evaluate(POLICIES / "tob_abcd.yaml", frames(), "2026-10-31").labels
    pd.testing.assert_frame_equal(from_files, from_frames)


def test_polars_frames_and_chinese_as_of_date() -> None:
    data = {k: pl.from_pandas(v) for k, v in frames().items()}
    result = fenji.evaluate(str(POLICIES / "tob_abcd.yaml"), data, "2026年10月31日")
    assert result.num_rows == 60


def test_policy_as_yaml_text_and_explain_and_summary() -> None:
    text = (POLICIES / "tob_abcd.yaml").read_text(encoding="utf-8")
    result = fenji.evaluate(text, DATA, "2026-10-31", lang="en")
    items = {e.dimension: e for e in result.explain("C00002")}
    assert items["sales"].label == "C"
    assert items["sales"].next_label == "B"
    assert "reaches B" in (items["sales"].why or "")
    assert items["overall"].strategy == "regular"
    summary = result.summary()
    assert summary.rows == 60
    assert summary.pareto is not None
    assert 0 < (summary.pareto.top20_share or 0) <= 1
    overall = next(d for d in summary.dimensions if d.dimension == "overall")
    assert sum(s.count for s in overall.labels) == 60


def test_bad_values_in_a_frame_are_reported_like_a_file() -> None:
    data = frames()
    data["orders"].loc[3, "amount"] = "lots"
    with pytest.raises(DataError) as info:
        fenji.evaluate(POLICIES / "tob_abcd.yaml", data, "2026-10-31")
    issue = info.value.issues[0]
    assert (issue.column, issue.value, issue.row) == ("amount", "lots", 5)
