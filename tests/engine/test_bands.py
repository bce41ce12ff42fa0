"""Bands: inclusive and exclusive bounds exactly as written, monotone, order-independent."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import customers, orders, policy, run

SALES_POLICY = policy(
    """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
dimensions:
  sales:
    method: bands
    metric: sales_12m
    bands:
      - {label: A, min: 100万}
      - {label: B, min: 50万}
      - {label: C, above: 20万}
      - {label: D}
"""
)

CUTS = [
    (Decimal(1_000_000), "A", True),
    (Decimal(500_000), "B", True),
    (Decimal(200_000), "C", False),
]


def reference_band(value: Decimal) -> str:
    """Plain-Python reference of the bands above."""
    for bound, label, inclusive in CUTS:
        if value > bound or (inclusive and value == bound):
            return label
    return "D"


def _tables(amounts: list[Decimal]) -> dict:
    ids = [f"C{i:05d}" for i in range(len(amounts))]
    return {
        "customers": customers([{"customer_id": c} for c in ids]),
        "orders": orders(
            [{"customer_id": c, "amount": a} for c, a in zip(ids, amounts, strict=True)]
        ),
    }


def test_lower_bound_is_inclusive_with_min() -> None:
    labels = run(SALES_POLICY, _tables([Decimal(1_000_000), Decimal("999999.99")]))
    assert labels["C00000"]["sales"] == "A"
    assert labels["C00001"]["sales"] == "B"


def test_lower_bound_is_exclusive_with_above() -> None:
    labels = run(SALES_POLICY, _tables([Decimal(200_000), Decimal("200000.01")]))
    assert labels["C00000"]["sales"] == "D"
    assert labels["C00001"]["sales"] == "C"


def test_customer_without_orders_gets_the_catch_all_band() -> None:
    tables = _tables([Decimal(5)])
    tables["customers"] = customers([{"customer_id": "C00000"}, {"customer_id": "NOORDERS"}])
    assert run(SALES_POLICY, tables)["NOORDERS"]["sales"] == "D"


def test_orders_outside_the_window_or_after_as_of_do_not_count() -> None:
    from datetime import date

    rows = [
        {"customer_id": "C1", "amount": 600_000, "order_date": date(2025, 10, 31)},  # just outside
        {"customer_id": "C1", "amount": 600_000, "order_date": date(2025, 11, 1)},  # first day in
        {"customer_id": "C1", "amount": 600_000, "order_date": date(2026, 11, 1)},  # after as-of
    ]
    tables = {"customers": customers([{"customer_id": "C1"}]), "orders": orders(rows)}
    assert run(SALES_POLICY, tables)["C1"]["sales"] == "B"


def test_cancelled_orders_never_count_and_returns_net() -> None:
    rows = [
        {"customer_id": "C1", "amount": 1_000_000},
        {"customer_id": "C1", "amount": 900_000, "status": "cancelled"},
        {"customer_id": "C1", "amount": 900_000, "status": "已取消"},
        {"customer_id": "C1", "amount": -1},
    ]
    tables = {"customers": customers([{"customer_id": "C1"}]), "orders": orders(rows)}
    assert run(SALES_POLICY, tables)["C1"]["sales"] == "B"


def test_explanation_shows_interval_and_gap_to_next_band() -> None:
    result = run(SALES_POLICY, _tables([Decimal(682_000)]), explain=True)["C00000"]
    assert result["sales.next"] == "A"
    assert result["sales.gap"] == Decimal(318_000)
    assert result["sales.why"] == "B: sales_12m 68.2万 ∈ [50万, 100万)；还差 31.8万 可达 A"


def test_explanation_in_english() -> None:
    result = run(SALES_POLICY, _tables([Decimal(682_000)]), explain=True, lang="en")["C00000"]
    assert "+318000 yuan reaches A" in result["sales.why"]


money = st.decimals(min_value=-1000, max_value=3_000_000, places=2, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(money, min_size=1, max_size=40))
def test_bands_match_the_plain_python_reference(amounts: list[Decimal]) -> None:
    labels = run(SALES_POLICY, _tables(amounts))
    for i, a in enumerate(amounts):
        assert labels[f"C{i:05d}"]["sales"] == reference_band(a)


@settings(max_examples=20, deadline=None)
@given(st.lists(money, min_size=1, max_size=20), st.integers(0, 19), money.filter(lambda d: d > 0))
def test_raising_a_metric_never_lowers_the_band(
    amounts: list[Decimal], i: int, extra: Decimal
) -> None:
    i %= len(amounts)
    before = run(SALES_POLICY, _tables(amounts))[f"C{i:05d}"]["sales"]
    raised = list(amounts)
    raised[i] += extra
    after = run(SALES_POLICY, _tables(raised))[f"C{i:05d}"]["sales"]
    assert after <= before  # "A" < "B" < ...: a smaller letter is a better band


def test_results_do_not_depend_on_row_order() -> None:
    rng = random.Random(7)
    rows = [
        {"customer_id": f"C{rng.randrange(50):05d}", "amount": Decimal(rng.randrange(0, 400_000))}
        for _ in range(400)
    ]
    ids = sorted({r["customer_id"] for r in rows})
    base = run(
        SALES_POLICY,
        {"customers": customers([{"customer_id": c} for c in ids]), "orders": orders(rows)},
    )
    rng.shuffle(rows)
    ids.reverse()
    shuffled = run(
        SALES_POLICY,
        {"customers": customers([{"customer_id": c} for c in ids]), "orders": orders(rows)},
    )
    assert base == shuffled
