"""The per-customer summary (x, t_x, T, monetary) as the engine computes it in SQL."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from fenji.engine.clv.summary import repeat_days_query, summarize_orders, summary_query
from fenji.engine.dialects import DUCKDB, SPARK
from fenji.engine.runner import locked_connection

from ..helpers import orders

AS_OF = date(2024, 3, 31)


def by_customer(rows: list[dict[str, object]], **kw: object) -> dict[str, dict[str, object]]:
    s = summarize_orders(orders(rows), AS_OF, **kw)  # type: ignore[arg-type]
    out = {}
    for i, cid in enumerate(s.customer_id.to_pylist()):
        out[cid] = {
            "x": int(s.x[i]),
            "t_x": float(s.t_x[i]),
            "T": float(s.T[i]),
            "monetary": None if np.isnan(s.monetary[i]) else float(s.monetary[i]),
            "holdout": None if s.holdout_x is None else int(s.holdout_x[i]),
        }
    return out


def test_orders_on_one_day_are_one_purchase_occasion_worth_their_sum() -> None:
    got = by_customer(
        [
            {"customer_id": "A", "order_date": date(2024, 1, 1), "amount": 10},
            {"customer_id": "A", "order_date": date(2024, 1, 15), "amount": 30},
            {"customer_id": "A", "order_date": date(2024, 1, 15), "amount": 20},
            {"customer_id": "A", "order_date": date(2024, 2, 1), "amount": 40},
        ],
        time_unit="day",
    )
    # two repeat occasions (15 Jan: 50, 1 Feb: 40), the first purchase left out of the mean
    assert got["A"] == {"x": 2, "t_x": 31.0, "T": 90.0, "monetary": 45.0, "holdout": None}


def test_weeks_are_seven_days_from_the_first_purchase() -> None:
    got = by_customer(
        [
            {"customer_id": "A", "order_date": date(2024, 1, 1), "amount": 5},
            {"customer_id": "A", "order_date": date(2024, 1, 11), "amount": 5},
        ],
        time_unit="week",
    )
    assert got["A"]["t_x"] == pytest.approx(10 / 7)
    assert got["A"]["T"] == pytest.approx(90 / 7)


def test_a_single_purchase_has_no_repeat_spend() -> None:
    got = by_customer([{"customer_id": "B", "order_date": date(2024, 3, 31), "amount": 5}])
    assert got["B"] == {"x": 0, "t_x": 0.0, "T": 0.0, "monetary": None, "holdout": None}


def test_cancelled_orders_returns_and_later_orders_never_count() -> None:
    got = by_customer(
        [
            {"customer_id": "A", "order_date": date(2024, 1, 1), "amount": 10},
            {"customer_id": "A", "order_date": date(2024, 1, 5), "amount": 99, "status": "已取消"},
            {"customer_id": "A", "order_date": date(2024, 1, 9), "amount": -10},
            {"customer_id": "A", "order_date": date(2024, 1, 20), "amount": 8, "status": "done"},
            {"customer_id": "A", "order_date": date(2024, 4, 1), "amount": 70},
            {"customer_id": "Z", "order_date": date(2024, 4, 2), "amount": 70},
        ],
        time_unit="day",
    )
    assert got == {"A": {"x": 1, "t_x": 19.0, "T": 90.0, "monetary": 8.0, "holdout": None}}


def test_holdout_counts_occasions_after_the_as_of_date_of_calibration_customers() -> None:
    got = by_customer(
        [
            {"customer_id": "A", "order_date": date(2024, 1, 1), "amount": 10},
            {"customer_id": "A", "order_date": date(2024, 4, 1), "amount": 1},
            {"customer_id": "A", "order_date": date(2024, 4, 1), "amount": 2},
            {"customer_id": "A", "order_date": date(2024, 5, 3), "amount": 3},
            {"customer_id": "A", "order_date": date(2024, 7, 1), "amount": 3},
            {"customer_id": "N", "order_date": date(2024, 4, 2), "amount": 70},
        ],
        time_unit="day",
        holdout_end=date(2024, 6, 30),
    )
    assert got == {"A": {"x": 0, "t_x": 0.0, "T": 90.0, "monetary": None, "holdout": 2}}


def test_the_summary_does_not_depend_on_row_order() -> None:
    rng = random.Random(4)
    rows = [
        {
            "customer_id": f"C{rng.randrange(30)}",
            "order_date": date(2023, 1, 1).fromordinal(
                date(2023, 1, 1).toordinal() + rng.randrange(450)
            ),
            "amount": rng.randrange(1, 500),
        }
        for _ in range(600)
    ]
    first = by_customer(rows)
    rng.shuffle(rows)
    assert by_customer(rows) == first


def test_same_histories_are_grouped_with_their_counts() -> None:
    rows = [
        {"customer_id": c, "order_date": d, "amount": 10}
        for c in ("A", "B", "C")
        for d in (date(2024, 1, 1), date(2024, 2, 1))
    ] + [{"customer_id": "D", "order_date": date(2024, 1, 1), "amount": 10}]
    s = summarize_orders(orders(rows), AS_OF)
    g = s.grouped()
    assert sorted(g.weights.tolist()) == [1.0, 3.0]
    assert g.x[g.inverse].tolist() == s.x.tolist()
    assert g.T[g.inverse] == pytest.approx(s.T)
    assert g.t_x[g.inverse] == pytest.approx(s.t_x)


def test_the_summary_query_is_portable_to_spark() -> None:
    cols = ["customer_id", "order_date", "amount", "status"]
    sql = SPARK.sql(summary_query("orders", cols, AS_OF, holdout_end=date(2024, 6, 30)))
    assert "MIN_BY(" in sql
    assert "FILTER(WHERE" in sql
    assert "ARG_MIN" not in sql


def test_repeat_days_are_the_purchases_after_each_first_day() -> None:
    table = orders(
        [
            {"customer_id": "A", "order_date": date(2024, 1, 1), "amount": 1},
            {"customer_id": "A", "order_date": date(2024, 1, 3), "amount": 1},
            {"customer_id": "A", "order_date": date(2024, 1, 3), "amount": 1},
            {"customer_id": "B", "order_date": date(2024, 1, 3), "amount": 1},
            {"customer_id": "B", "order_date": date(2024, 5, 1), "amount": 1},
            {"customer_id": "L", "order_date": date(2024, 4, 9), "amount": 1},
            {"customer_id": "L", "order_date": date(2024, 5, 1), "amount": 1},
        ]
    )
    con = locked_connection({"orders": table})
    query = repeat_days_query("orders", table.column_names, AS_OF, date(2024, 6, 30))
    rows = con.sql(DUCKDB.sql(query)).fetchall()
    assert rows == [(date(2024, 1, 3), 1), (date(2024, 5, 1), 1)]


def test_a_table_without_amounts_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no column\\(s\\) amount"):
        summary_query("orders", ["customer_id", "order_date"], AS_OF)
