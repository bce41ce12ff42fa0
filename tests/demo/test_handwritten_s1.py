"""The benchmark's yardstick (bench/handwritten_s1.py) computes S1 exactly.

A benchmark that times a wrong answer is worthless, so the hand-written query is held to the
acceptance scenario's expected labels like the product is.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

from fenji.demo.generate import generate
from tests.conftest import ROOT, acceptance_dir

SCENARIO = acceptance_dir()
AS_OF = date(2026, 10, 31)
LABELS = ("sales", "volume", "influence", "tenure", "overall")


@pytest.fixture(scope="module")
def yardstick() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "handwritten_s1", ROOT / "bench" / "handwritten_s1.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scenario_as_parquet(out: Path, *, extra_orders: str = "") -> Path:
    """The acceptance scenario's CSV files as canonical Parquet (exact decimals, dates)."""
    data = SCENARIO / "data"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT customer_id, name, industry, region, scale, owner,
                         first_deal_date::DATE AS first_deal_date, influence
                  FROM read_csv('{data}/customers.csv', all_varchar = true))
            TO '{out}/customers.parquet'"""
    )
    con.execute(
        f"""COPY (SELECT order_id, customer_id, business_line, order_date::DATE AS order_date,
                         amount::DECIMAL(18, 4) AS amount, quantity::DECIMAL(18, 4) AS quantity,
                         channel {extra_orders}
                  FROM read_csv('{data}/orders.csv', all_varchar = true))
            TO '{out}/orders.parquet'"""
    )
    return out


def labels(path: Path) -> dict[str, tuple[str, ...]]:
    cols = ", ".join(LABELS)
    rows = duckdb.sql(f"SELECT customer_id, {cols} FROM '{path}'").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.skipif(
    not SCENARIO.is_dir(), reason="the shared acceptance scenarios are not beside the repo"
)
def test_yardstick_gives_the_acceptance_labels(yardstick: ModuleType, tmp_path: Path) -> None:
    # given the acceptance scenario as Parquet
    data = scenario_as_parquet(tmp_path)
    # when the hand-written query grades it
    rows = yardstick.run(data, AS_OF, tmp_path / "out.csv")
    # then every customer carries exactly the expected labels
    assert rows == 60
    assert labels(tmp_path / "out.csv") == labels(SCENARIO / "expected" / "tob_abcd.csv")


@pytest.mark.skipif(
    not SCENARIO.is_dir(), reason="the shared acceptance scenarios are not beside the repo"
)
def test_yardstick_leaves_out_cancelled_orders_when_there_is_a_status(
    yardstick: ModuleType, tmp_path: Path
) -> None:
    # given every order of C00001 (sales A) marked cancelled
    data = scenario_as_parquet(
        tmp_path,
        extra_orders=", IF(customer_id = 'C00001', 'Cancelled', 'shipped') AS status",
    )
    # when graded
    yardstick.run(data, AS_OF, tmp_path / "out.parquet")
    # then C00001 has no 12-month sales or volume, and the others are unchanged
    got = labels(tmp_path / "out.parquet")
    expected = labels(SCENARIO / "expected" / "tob_abcd.csv")
    assert got.pop("C00001")[:2] == ("D", "D")
    expected.pop("C00001")
    assert got == expected


def test_yardstick_grades_every_demo_customer_once(yardstick: ModuleType, tmp_path: Path) -> None:
    generate(tmp_path, customers=500, orders=10_000)
    yardstick.run(tmp_path, AS_OF, tmp_path / "out.parquet")
    result = labels(tmp_path / "out.parquet")
    assert len(result) == 500
    assert all(set(row) <= set("ABCD") for row in result.values())
