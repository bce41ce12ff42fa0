"""Stars: weighted percent ranks of the components, cut into star bands.

Each test builds small Arrow tables and runs the compiled policy on DuckDB; the parity test
checks the shipped ``stars.yaml`` against a plain-Python reference with exact fractions.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.engine.helpers import AS_OF, orders, run

from fenji.policy.validate import load_policy, parse_policy

POLICIES = Path(__file__).resolve().parents[3] / "examples" / "policies"
STARS = load_policy(POLICIES / "stars.yaml")


def years_ago(n: int) -> date:
    """Exactly ``n`` calendar years before the as-of date (31 October exists every year)."""
    return date(AS_OF.year - n, AS_OF.month, AS_OF.day)


def tables(
    first_deals: dict[str, date | None], order_rows: list[tuple[str, int, Decimal]]
) -> dict[str, pa.Table]:
    """Customers with a first deal date, and orders as (customer, days before as-of, amount)."""
    return {
        "customers": pa.table(
            {
                "customer_id": pa.array(list(first_deals), pa.string()),
                "first_deal_date": pa.array(list(first_deals.values()), pa.date32()),
            }
        ),
        "orders": orders(
            [
                {
                    "customer_id": c,
                    "order_date": AS_OF - timedelta(days=d),
                    "amount": a,
                    "quantity": 1,
                }
                for c, d, a in order_rows
            ]
        ),
    }


TWO_COMPONENTS = parse_policy(
    """
fenji: 1
name: t
title: t
metrics:
  revenue_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
  orders_12m: {agg: count, from: orders, window: 12 months}
  tenure_years: {tenure: first_deal_date, unit: year}
dimensions:
  stars:
    method: stars
    population: orders_12m > 0
    components:
      - {metric: revenue_12m, weight: 3}
      - {metric: tenure_years, weight: 1}
    stars:
      - {label: 3, min: 0.75}
      - {label: 2, min: 0.4}
      - {label: 1}
""",
    file="<test>",
)


def test_composite_is_the_weighted_mean_of_percent_ranks() -> None:
    # given: revenue ranks 0, 1/3, 2/3, 1 and tenure ranks 1, 2/3, 1/3, 0
    ids = ["A", "B", "C", "D"]
    deals = {c: years_ago(4 - i) for i, c in enumerate(ids)}
    rows = [(c, 1, Decimal(100 * (i + 1))) for i, c in enumerate(ids)]
    # when
    result = run(TWO_COMPONENTS, tables(deals, rows), explain=True)
    # then: (3 x revenue rank + 1 x tenure rank) / 4
    expected = {
        "A": Fraction(1, 4),
        "B": Fraction(5, 12),
        "C": Fraction(7, 12),
        "D": Fraction(3, 4),
    }
    for c, value in expected.items():
        assert result[c]["stars.score"] == pytest.approx(float(value), abs=1e-4)
    assert [result[c]["stars"] for c in ids] == ["1", "2", "2", "3"]  # 0.75 exactly is 3 stars
    assert result["D"]["stars.next"] is None
    assert result["C"]["stars.next"] == "3"
    assert result["C"]["stars.gap"] == pytest.approx(0.75 - 7 / 12, abs=1e-9)
    assert "还差" in result["C"]["stars.why"]
    assert "排名 66.7% × 75%" in result["C"]["stars.why"]  # revenue rank 2/3, weight 3/4


def test_ties_share_the_same_rank() -> None:
    deals = dict.fromkeys(["A", "B", "C"], years_ago(2))
    rows = [("A", 1, Decimal(5)), ("B", 1, Decimal(5)), ("C", 1, Decimal(9))]
    result = run(TWO_COMPONENTS, tables(deals, rows))
    # revenue ranks 0, 0, 1; tenure all tied at rank 0
    assert result["A"]["stars.score"] == result["B"]["stars.score"] == 0
    assert result["C"]["stars.score"] == pytest.approx(0.75)


def test_missing_component_ranks_zero_and_does_not_count_in_the_others_ranks() -> None:
    deals: dict[str, date | None] = {"A": years_ago(1), "B": years_ago(3), "N": None}
    rows = [("A", 1, Decimal(1)), ("B", 1, Decimal(2)), ("N", 1, Decimal(3))]
    result = run(TWO_COMPONENTS, tables(deals, rows), explain=True)
    # tenure ranks among A and B only: A 0, B 1; N's missing tenure ranks 0
    assert result["B"]["stars.score"] == pytest.approx((3 * 0.5 + 1) / 4)
    assert result["N"]["stars.score"] == pytest.approx(3 * 1 / 4)
    assert result["N"]["stars"] == "3"


def test_customers_outside_or_forced_do_not_move_the_ranks() -> None:
    # given: three buyers, plus a lapsed customer with a long tenure and a big old order
    deals = {"A": years_ago(1), "B": years_ago(2), "C": years_ago(3), "OLD": years_ago(20)}
    rows = [("A", 1, Decimal(1)), ("B", 1, Decimal(2)), ("C", 1, Decimal(3))]
    lapsed = [("OLD", 400, Decimal(1_000_000))]
    shipped = run(STARS, tables(deals, rows + lapsed), explain=True)
    alone = run(STARS, tables({k: v for k, v in deals.items() if k != "OLD"}, rows))
    # then: the lapsed customer is forced to 1 star and the others keep their scores
    assert shipped["OLD"]["stars"] == "1"
    assert shipped["OLD"]["stars.score"] is None
    assert "近12个月无购买" in shipped["OLD"]["stars.why"]
    for c in "ABC":
        assert shipped[c]["stars.score"] == alone[c]["stars.score"]
    assert shipped["C"]["stars.score"] == pytest.approx(0.7)  # 50% x 1 + 30% x 0 (tied) + 20% x 1
    assert shipped["C"]["stars"] == "4"
    # and with a population instead of a forced rule, outsiders get no label
    outside = run(TWO_COMPONENTS, tables(deals, rows + lapsed))
    assert outside["OLD"]["stars"] is None


# -- parity, row order and monotonicity ------------------------------------------------------


def random_data(seed: int, n: int) -> tuple[dict[str, date | None], list[tuple[str, int, Decimal]]]:
    rng = random.Random(seed)
    deals: dict[str, date | None] = {}
    rows: list[tuple[str, int, Decimal]] = []
    for i in range(n):
        cid = f"C{i:04d}"
        deals[cid] = None if rng.random() < 0.05 else years_ago(rng.randint(0, 12))
        for _ in range(rng.choice([0, 1, 2, 3, 5, 8])):
            days = rng.randint(0, 500)
            rows.append((cid, days, Decimal(rng.choice([1_000, 5_000, rng.randint(1, 10**6)]))))
    return deals, rows


def percent_ranks(values: dict[str, Fraction | None]) -> dict[str, Fraction]:
    """PERCENT_RANK among the non-missing values, lowest 0; missing values rank 0."""
    present = [v for v in values.values() if v is not None]
    n = len(present)
    out: dict[str, Fraction] = {}
    for key, v in values.items():
        if v is None or n <= 1:
            out[key] = Fraction(0)
        else:
            out[key] = Fraction(sum(1 for x in present if x < v), n - 1)
    return out


def reference_stars(
    deals: dict[str, date | None], rows: list[tuple[str, int, Decimal]]
) -> dict[str, tuple[str, Fraction | None]]:
    """The shipped S7 policy by hand: 50/30/20 weights, bounds 0.8/0.6/0.4/0.2."""
    window = (AS_OF - date(2025, 11, 1)).days
    revenue: dict[str, Fraction] = dict.fromkeys(deals, Fraction(0))
    count: dict[str, int] = dict.fromkeys(deals, 0)
    for cid, days, amount in rows:
        if days <= window:
            revenue[cid] += Fraction(amount)
            count[cid] += 1
    buyers = [c for c in deals if count[c] > 0]
    tenure: dict[str, Fraction | None] = {}
    for c in buyers:
        first = deals[c]
        tenure[c] = None if first is None else Fraction(AS_OF.year - first.year)
    ranks = [
        percent_ranks({c: revenue[c] for c in buyers}),
        percent_ranks({c: Fraction(count[c]) for c in buyers}),
        percent_ranks(tenure),
    ]
    out: dict[str, tuple[str, Fraction | None]] = dict.fromkeys(deals, ("1", None))
    for c in buyers:
        composite = (50 * ranks[0][c] + 30 * ranks[1][c] + 20 * ranks[2][c]) / 100
        bounds = [("5", Fraction(8, 10)), ("4", Fraction(6, 10)), ("3", Fraction(4, 10))]
        bounds.append(("2", Fraction(2, 10)))
        stars = next((s for s, bound in bounds if composite >= bound), "1")
        out[c] = (stars, composite)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stars_match_a_plain_python_reference(seed: int) -> None:
    deals, rows = random_data(seed, 300)
    result = run(STARS, tables(deals, rows))
    expected = reference_stars(deals, rows)
    for c, (stars, composite) in expected.items():
        assert result[c]["stars"] == stars, c
        if composite is None:
            assert result[c]["stars.score"] is None
        else:
            assert result[c]["stars.score"] == pytest.approx(float(composite), abs=5e-5), c
    assert {s for s, _ in expected.values()} == {"1", "2", "3", "4", "5"}


def test_stars_do_not_depend_on_row_order() -> None:
    deals, rows = random_data(9, 120)
    base = run(STARS, tables(deals, rows), explain=True)
    rng = random.Random(4)
    items = list(deals.items())
    rng.shuffle(items)
    rng.shuffle(rows)
    assert run(STARS, tables(dict(items), rows), explain=True) == base


@settings(max_examples=25, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=12),
    years=st.lists(st.integers(min_value=0, max_value=10), min_size=12, max_size=12),
    who=st.integers(min_value=0, max_value=11),
    component=st.sampled_from(["revenue", "orders", "tenure"]),
    more=st.integers(min_value=1, max_value=2000),
)
def test_raising_one_component_never_lowers_the_stars(
    amounts: list[int], years: list[int], who: int, component: str, more: int
) -> None:
    # given: one order per customer, some customers with a second order
    ids = [f"C{i:02d}" for i in range(len(amounts))]
    who = who % len(ids)
    deals = {c: years_ago(years[i]) for i, c in enumerate(ids)}
    rows = [(c, 10, Decimal(a)) for c, a in zip(ids, amounts, strict=True)]
    rows += [(c, 20, Decimal(1)) for i, c in enumerate(ids) if years[i] % 2]
    before = run(STARS, tables(deals, rows))[ids[who]]
    # when: one component of one customer goes up
    if component == "revenue":
        rows = [(c, d, a + more if c == ids[who] and d == 10 else a) for c, d, a in rows]
    elif component == "orders":
        rows += [(ids[who], 30, Decimal(0))] * (1 + more % 3)
    else:
        deals[ids[who]] = years_ago(min(years[who] + 1 + more % 5, 40))
    after = run(STARS, tables(deals, rows))[ids[who]]
    # then
    assert int(after["stars"]) >= int(before["stars"])
    assert after["stars.score"] >= before["stars.score"]
