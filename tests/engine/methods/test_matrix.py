"""Matrix: two axes, each high at or above its cut, give four quadrants.

Tested here: a value exactly at its cut is high (fixed numbers and population statistics alike,
including the interpolated median of an even count), missing values are low and take no part in
the statistic, entities forced by ``first`` rules or outside the population are left out of it,
and the results agree with a plain-Python reference and do not depend on row order.
"""

from __future__ import annotations

import random
import statistics
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fenji.engine.compiler import compile_policy
from fenji.engine.runner import locked_connection, run_sql
from fenji.engine.windows import add_months
from fenji.policy.models import Policy
from fenji.policy.validate import load_policy, parse_policy

AS_OF = date(2026, 10, 31)
MONEY = pa.decimal128(18, 4)
EI_MATRIX = Path(__file__).resolve().parents[3] / "examples" / "policies" / "ei_matrix.yaml"

QUADRANTS = """
fenji: 1
name: t
title: t
metrics:
  sales: {title: {zh: 销售额, en: sales}, agg: sum, from: orders, of: amount, unit: yuan}
  order_count: {title: {zh: 订单数, en: orders}, agg: count, from: orders, unit: count}
  best_order: {title: 最大订单, agg: max, from: orders, of: amount, unit: yuan}
dimensions:
  q:
    method: matrix
EXTRA
    x: {title: {zh: 贡献度, en: contribution}, metric: XMETRIC, cut: XCUT}
    y: {title: {zh: 稳定度, en: stability}, metric: order_count, cut: YCUT}
    quadrants: {high_high: HH, high_low: HL, low_high: LH, low_low: LL}
"""


def matrix(
    x_cut: str = "100", y_cut: str = "2", *, x_metric: str = "sales", extra: str = ""
) -> Policy:
    text = (
        QUADRANTS.replace("XMETRIC", x_metric)
        .replace("XCUT", x_cut)
        .replace("YCUT", y_cut)
        .replace("EXTRA", extra)
    )
    return parse_policy(text, file="<test>")


def tables(amounts: dict[str, list[str]]) -> dict[str, pa.Table]:
    """Customers with the given order amounts, one order per entry, in the months before the
    as-of date (the first entry in its month, the next a month earlier, ...)."""
    ids = list(amounts)
    rows = [(c, Decimal(a), add_months(AS_OF, -i)) for c in ids for i, a in enumerate(amounts[c])]
    return {
        "customers": pa.table({"customer_id": pa.array(ids, pa.string())}),
        "orders": pa.table(
            {
                "order_id": pa.array([f"O{i}" for i in range(len(rows))], pa.string()),
                "customer_id": pa.array([c for c, _, _ in rows], pa.string()),
                "order_date": pa.array([d for _, _, d in rows], pa.date32()),
                "amount": pa.array([a for _, a, _ in rows], MONEY),
            }
        ),
    }


def run(
    policy: Policy, data: dict[str, pa.Table], *, explain: bool = False, lang: str = "zh"
) -> dict[str, dict[str, Any]]:
    """Result rows by customer id."""
    compiled = compile_policy(
        policy,
        AS_OF,
        {name: set(t.column_names) for name, t in data.items()},
        explain=explain,
        lang=lang,
    )
    result = run_sql(locked_connection(data), compiled.sql())
    return {row["customer_id"]: row for row in result.to_pylist()}


def labels(policy: Policy, data: dict[str, pa.Table], dim: str = "q") -> dict[str, str | None]:
    return {c: row[dim] for c, row in run(policy, data).items()}


def percentile_cont(values: list[Decimal], p: Decimal) -> Decimal:
    """Linear interpolation between closest ranks, as SQL's PERCENTILE_CONT, in decimals."""
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo = int(pos)
    if lo + 1 >= len(ordered):
        return ordered[lo]
    return ordered[lo] + (pos - lo) * (ordered[lo + 1] - ordered[lo])


# -- boundaries ---------------------------------------------------------------------------


def test_each_quadrant_and_a_value_exactly_at_a_fixed_cut_is_high() -> None:
    data = tables(
        {
            "C1": ["50", "50"],  # sales exactly 100, exactly 2 orders: both high
            "C2": ["99.9999"],  # just below on x, below on y
            "C3": ["200"],  # high x, low y
            "C4": ["1", "1", "1"],  # low x, high y
        }
    )
    assert labels(matrix(), data) == {"C1": "HH", "C2": "LL", "C3": "HL", "C4": "LH"}


def test_value_exactly_at_the_median_is_high() -> None:
    data = tables({"C1": ["10"], "C2": ["20"], "C3": ["30"]})
    result = labels(matrix("{median: true}"), data)
    assert result == {"C1": "LL", "C2": "HL", "C3": "HL"}


def test_median_of_an_even_count_is_interpolated_exactly() -> None:
    # The median of 1.0001 and 1.0002 is 1.00015: 1.0001 is below it, not "at" it.
    data = tables({"C1": ["1.0001"], "C2": ["1.0002"]})
    assert labels(matrix("{median: true}"), data) == {"C1": "LL", "C2": "HL"}


def test_median_with_where_is_taken_over_the_filtered_customers_only() -> None:
    # Over sales > 0 the median is 20; over everyone it would be 5.
    data = tables({"C0": [], "C00": [], "C000": [], "C1": ["10"], "C2": ["20"], "C3": ["30"]})
    result = labels(matrix('{median: true, where: "sales > 0"}'), data)
    assert result["C1"] == "LL"
    assert result["C2"] == "HL"


def test_missing_value_is_low_and_takes_no_part_in_the_statistic() -> None:
    # best_order is NULL without orders; the median of 10, 20, 30 stays 20.
    data = tables({"C0": [], "C1": ["10"], "C2": ["20"], "C3": ["30"]})
    rows = run(matrix("{median: true}", x_metric="best_order"), data, explain=True)
    assert {c: r["q"] for c, r in rows.items()} == {"C0": "LL", "C1": "LL", "C2": "HL", "C3": "HL"}
    assert rows["C0"]["q.why"].startswith("LL: 贡献度 最大订单 无数据，按低计；")


def test_forced_entities_are_left_out_of_the_median() -> None:
    # With C8 and C9 the median would be 30 and C2 low; forced, they do not count.
    extra = '    first:\n      - {label: F, when: "best_order >= 1000"}'
    data = tables({"C1": ["10"], "C2": ["20"], "C3": ["30"], "C8": ["1000"], "C9": ["2000"]})
    result = labels(matrix("{median: true}", extra=extra), data)
    assert result == {"C1": "LL", "C2": "HL", "C3": "HL", "C8": "F", "C9": "F"}


def test_outside_the_population_gets_the_outside_label_and_no_part_in_the_median() -> None:
    extra = '    population: "sales < 1000"\n    outside: OUT'
    data = tables({"C1": ["10"], "C2": ["20"], "C3": ["30"], "C9": ["5000"]})
    result = labels(matrix("{median: true}", extra=extra), data)
    assert result == {"C1": "LL", "C2": "HL", "C3": "HL", "C9": "OUT"}


def test_value_exactly_at_the_mean_is_high() -> None:
    # 0.1 + 0.2 + 0.3 is exactly 0.6: the mean 0.2 compares exactly (no 0.20000000000000004).
    data = tables({"C1": ["0.1"], "C2": ["0.2"], "C3": ["0.3"]})
    assert labels(matrix("mean"), data) == {"C1": "LL", "C2": "HL", "C3": "HL"}


def test_mean_with_a_repeating_decimal_is_compared_exactly() -> None:
    # The mean of 1, 1 and 2 is 4/3: 1.3333 is below it, 1.3334 above.
    data = tables({"C1": ["1"], "C2": ["1"], "C3": ["2"], "C4": ["1.3333"], "C5": ["1.3334"]})
    result = labels(matrix('{mean: true, where: "sales = 1 OR sales = 2"}'), data)
    assert result["C4"] == "LL"
    assert result["C5"] == "HL"


def test_percentile_cut_interpolates_between_ranks() -> None:
    # The 80th percentile of 1..5 is 4.2.
    data = tables({f"C{i}": [str(i)] for i in range(1, 6)})
    result = labels(matrix("{percentile: 80}"), data)
    assert result == {"C1": "LL", "C2": "LL", "C3": "LL", "C4": "LL", "C5": "HL"}


def test_explanation_shows_values_cuts_and_the_gap_of_a_low_axis() -> None:
    data = tables({"C1": ["10"], "C2": ["20"], "C3": ["30", "1"]})
    zh = run(matrix("{median: true}"), data, explain=True)
    assert zh["C1"]["q.why"] == (
        "LL: 贡献度 销售额 10元 < 中位数 20元，还差 10元；稳定度 订单数 1 < 2，还差 1"
    )
    assert zh["C3"]["q.why"] == "HH: 贡献度 销售额 31元 ≥ 中位数 20元；稳定度 订单数 2 ≥ 2"
    en = run(matrix("{median: true}"), data, explain=True, lang="en")
    assert en["C1"]["q.why"] == (
        "LL: contribution sales 10 yuan < median 20 yuan, short by 10 yuan; "
        "stability orders 1 < 2, short by 1"
    )


# -- the shipped S3 policy ----------------------------------------------------------------


def test_ei_matrix_nine_of_twelve_months_is_stable_and_no_revenue_is_eiv() -> None:
    data = tables(
        {
            "C1": ["100"] * 9,  # 9 of 12 months: exactly 0.75, high
            "C2": ["100"] * 8,  # 8 of 12 months: low
            "C3": ["10"] * 12,
            "C4": ["0"] * 10,  # orders in 10 months, but no revenue: EIV, not EIII
            "C5": [],
        }
    )
    result = labels(load_policy(EI_MATRIX), data, dim="ei")
    assert result == {"C1": "EI", "C2": "EII", "C3": "EIII", "C4": "EIV", "C5": "EIV"}


# -- parity and order independence --------------------------------------------------------


def random_amounts(rng: random.Random, n: int) -> dict[str, list[str]]:
    """Customers with 0-4 orders of small amounts: many ties, some exactly at the cuts."""
    return {
        f"C{i:04d}": [
            str(rng.choice([1, 5, 10, 10, 20, 40, 99, "12.5"])) for _ in range(rng.randint(0, 4))
        ]
        for i in range(n)
    }


def reference_quadrants(amounts: dict[str, list[str]], y_percentile: Decimal) -> dict[str, str]:
    """Plain Python: F when the best order is >= 99; x = sales high at or above the median of
    the unforced customers with sales > 0; y = order count high at or above its percentile
    over the unforced customers."""
    sales = {c: sum((Decimal(a) for a in xs), Decimal(0)) for c, xs in amounts.items()}
    count = {c: Decimal(len(xs)) for c, xs in amounts.items()}
    forced = {c for c, xs in amounts.items() if xs and max(Decimal(a) for a in xs) >= 99}
    graded = [c for c in amounts if c not in forced]
    x_cut = statistics.median([sales[c] for c in graded if sales[c] > 0])
    y_cut = percentile_cont([count[c] for c in graded], y_percentile / 100)
    out: dict[str, str] = {}
    for c in amounts:
        if c in forced:
            out[c] = "F"
            continue
        x, y = sales[c] >= x_cut, count[c] >= y_cut
        out[c] = {(True, True): "HH", (True, False): "HL", (False, True): "LH"}.get((x, y), "LL")
    return out


@pytest.mark.parametrize(("seed", "p"), [(0, "75"), (1, "50"), (2, "33"), (3, "90")])
def test_matches_plain_python_reference_on_random_customers(seed: int, p: str) -> None:
    rng = random.Random(seed)
    amounts = random_amounts(rng, 300)
    policy = matrix(
        '{median: true, where: "sales > 0"}',
        f"{{percentile: {p}}}",
        extra='    first:\n      - {label: F, when: "best_order >= 99"}',
    )
    assert labels(policy, tables(amounts)) == reference_quadrants(amounts, Decimal(p))


def test_labels_do_not_depend_on_row_order() -> None:
    rng = random.Random(5)
    data = tables(random_amounts(rng, 200))
    policy = matrix('{median: true, where: "sales > 0"}', "{percentile: 75}")
    before = labels(policy, data)
    for name in ("customers", "orders"):
        t = data[name]
        order = list(range(t.num_rows))
        rng.shuffle(order)
        data[name] = t.take(pa.array(order))
    assert labels(policy, data) == before
