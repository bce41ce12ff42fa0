"""RFM: the eight-class model against the population mean, and 1-5 quintile segments.

Each test builds a few Arrow tables, compiles a policy and runs it on DuckDB; the parity tests
check the shipped policies against plain-Python references with exact (Fraction) arithmetic.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pytest
from tests.engine.helpers import AS_OF, orders, run

from fenji.policy.dimensions import RfmDimension
from fenji.policy.models import Policy
from fenji.policy.validate import load_policy, parse_policy

WINDOW_START = date(2025, 11, 1)  # first day of "the 12 months" at AS_OF
POLICIES = Path(__file__).resolve().parents[3] / "examples" / "policies"

# (customer_id, days before AS_OF, amount)
Order = tuple[str, int, Decimal]


def tables(ids: list[str], order_rows: list[Order]) -> dict[str, pa.Table]:
    """Canonical customers and orders tables (money as exact DECIMAL(18, 4))."""
    return {
        "customers": pa.table(
            {
                "customer_id": pa.array(ids, pa.string()),
                "first_deal_date": pa.array([date(2020, 1, 1)] * len(ids), pa.date32()),
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


def shuffled(data: dict[str, pa.Table], seed: int) -> dict[str, pa.Table]:
    rng = random.Random(seed)
    out = {}
    for name, table in data.items():
        order = list(range(table.num_rows))
        rng.shuffle(order)
        out[name] = table.take(pa.array(order, pa.int64()))
    return out


RFM8 = load_policy(POLICIES / "rfm8.yaml")
SEGMENTS = load_policy(POLICIES / "rfm_segments.yaml")


def _with_compare(compare: str) -> Policy:
    return parse_policy(
        f"""
fenji: 1
name: t
title: t
metrics:
  recency_days: {{agg: days_since_last, from: orders, unit: day}}
  orders_12m: {{agg: count, from: orders, window: 12 months, unit: count}}
  revenue_12m: {{agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}}
dimensions:
  rfm8:
    method: rfm
    model: cn8
    recency: recency_days
    frequency: orders_12m
    monetary: revenue_12m
    compare: {compare}
    population: orders_12m > 0
""",
        file="<test>",
    )


# -- cn8: boundaries -------------------------------------------------------------------------


def test_value_equal_to_the_mean_is_high_on_r_f_and_m() -> None:
    # given: B sits exactly on the mean of recency (20), orders (2) and revenue (912.05).
    # DuckDB's DECIMAL mean of revenue comes out as 912.0500000000001: a floating comparison
    # would call B's revenue low.
    data = tables(
        ["A", "B", "C"],
        [
            ("A", 10, Decimal("583.78")),
            ("B", 30, Decimal("456.02")),
            ("B", 20, Decimal("456.03")),
            ("C", 40, Decimal("413.44")),
            ("C", 35, Decimal("413.44")),
            ("C", 30, Decimal("413.44")),
        ],
    )
    # when
    result = run(RFM8, data, explain=True)
    # then
    assert result["B"]["rfm8"] == "important_value"  # R 20 <= 20, F 2 >= 2, M = mean
    assert result["A"]["rfm8"] == "general_development"  # recent, one order, below mean
    assert result["C"]["rfm8"] == "important_retention"  # R 30 > 20, F 3, M 1240.32
    assert "R 20天 ≤ 均值 20天" in result["B"]["rfm8.why"]
    assert "M 912.05元 ≥ 均值 912.05元" in result["B"]["rfm8.why"]


def test_recency_just_above_the_mean_is_low() -> None:
    data = tables(
        ["A", "B"],
        [("A", 10, Decimal(5)), ("B", 11, Decimal(5))],  # mean recency 10.5
    )
    result = run(RFM8, data, explain=True)
    assert result["A"]["rfm8"] == "important_value"  # F 1 >= 1 and M 5 >= 5 too
    assert result["B"]["rfm8"] == "important_retention"
    assert "R 11天 > 均值 10.5天" in result["B"]["rfm8.why"]


def test_customers_outside_the_population_get_no_label_and_do_not_move_the_mean() -> None:
    # given: the same two customers, with and without a big customer lapsed for 2 years
    rows: list[Order] = [("A", 10, Decimal(100)), ("B", 50, Decimal(300))]
    lapsed: list[Order] = [("OLD", 700, Decimal(10_000_000))] * 5
    alone = run(RFM8, tables(["A", "B"], rows))
    together = run(RFM8, tables(["A", "B", "OLD", "NONE"], rows + lapsed), explain=True)
    # then: they get the empty label and the classes of the others do not change
    assert together["OLD"]["rfm8"] is None
    assert together["NONE"]["rfm8"] is None
    assert "不在评估范围" in together["OLD"]["rfm8.why"]
    assert {k: together[k]["rfm8"] for k in ("A", "B")} == {k: alone[k]["rfm8"] for k in alone}
    assert alone["A"]["rfm8"] == "general_value"  # R high, F 1 >= 1, M 100 < 200
    assert alone["B"]["rfm8"] == "important_retention"


def test_order_just_outside_the_12_months_is_not_in_the_population() -> None:
    days_to_window_start = (AS_OF - WINDOW_START).days
    data = tables(
        ["IN", "OUT", "X"],
        [
            ("IN", days_to_window_start, Decimal(1)),  # 2025-11-01: first day inside
            ("OUT", days_to_window_start + 1, Decimal(1)),  # 2025-10-31: outside
            ("X", 1, Decimal(1)),
        ],
    )
    result = run(RFM8, data)
    assert result["IN"]["rfm8"] is not None
    assert result["OUT"]["rfm8"] is None


def test_median_comparison_counts_the_median_itself_as_high() -> None:
    data = tables(
        ["A", "B", "C"],
        [
            ("A", 5, Decimal(1)),
            ("B", 10, Decimal(2)),
            ("C", 100, Decimal(1000)),  # would drag a mean far above B
        ],
    )
    result = run(_with_compare("median"), data, explain=True)
    assert result["B"]["rfm8"] == "important_value"  # on the median of R, F and M
    assert result["A"]["rfm8"] == "general_value"  # R 5, F 1 on the median, M 1 below 2
    assert "中位数" in result["B"]["rfm8.why"]
    mean_result = run(_with_compare("mean"), data)
    assert mean_result["B"]["rfm8"] == "general_value"  # M 2 < mean 334.33


# -- cn8: parity and row order ---------------------------------------------------------------


def random_orders(seed: int, customers: int) -> tuple[list[str], list[Order]]:
    """Customers with 0-12 orders over two years, amounts with cents, some without orders."""
    rng = random.Random(seed)
    ids = [f"C{i:04d}" for i in range(customers)]
    rows: list[Order] = []
    for cid in ids:
        for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8, 12])):
            days = rng.choice([rng.randint(0, 400), rng.randint(0, 730), rng.randint(0, 60)])
            amount = Decimal(rng.randint(100, 5_000_000)) / 100
            rows.append((cid, days, amount))
    return ids, rows


def reference_cn8(ids: list[str], rows: list[Order]) -> dict[str, str | None]:
    """S6 exactly as the acceptance README states it, with Fractions."""
    window = (AS_OF - WINDOW_START).days  # orders at most this many days ago are in
    last: dict[str, int] = {}
    freq: dict[str, int] = dict.fromkeys(ids, 0)
    money: dict[str, Fraction] = dict.fromkeys(ids, Fraction(0))
    for cid, days, amount in rows:
        last[cid] = min(last.get(cid, days), days)
        if days <= window:
            freq[cid] += 1
            money[cid] += Fraction(amount)
    pop = [c for c in ids if freq[c] > 0]
    mean_r = Fraction(sum(last[c] for c in pop), len(pop))
    mean_f = Fraction(sum(freq[c] for c in pop), len(pop))
    mean_m = sum((money[c] for c in pop), Fraction(0)) / len(pop)
    spec = RFM8.dimensions["rfm8"]
    assert isinstance(spec, RfmDimension)
    names = spec.classes
    out: dict[str, str | None] = dict.fromkeys(ids)
    for c in pop:
        key = "".join(
            "h" if high else "l"
            for high in (last[c] <= mean_r, freq[c] >= mean_f, money[c] >= mean_m)
        )
        out[c] = names[key]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cn8_matches_a_plain_python_reference(seed: int) -> None:
    ids, rows = random_orders(seed, 300)
    result = run(RFM8, tables(ids, rows))
    expected = reference_cn8(ids, rows)
    assert {c: result[c]["rfm8"] for c in ids} == expected
    assert len(set(expected.values())) >= 6  # the data exercises most classes


def test_cn8_does_not_depend_on_row_order() -> None:
    ids, rows = random_orders(7, 120)
    data = tables(ids, rows)
    base = run(RFM8, data, explain=True)
    for seed in (1, 2):
        assert run(RFM8, shuffled(data, seed), explain=True) == base


# -- quintile --------------------------------------------------------------------------------


def _quintile_policy(segments: str = "[{label: any, when: 'r >= 1'}]") -> Policy:
    return parse_policy(
        f"""
fenji: 1
name: t
title: t
metrics:
  recency_days: {{agg: days_since_last, from: orders, unit: day}}
  orders_12m: {{agg: count, from: orders, window: 12 months}}
  revenue_12m: {{agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}}
dimensions:
  rfm:
    method: rfm
    model: quintile
    recency: recency_days
    frequency: orders_12m
    monetary: revenue_12m
    population: orders_12m > 0
    segments: {segments}
    default: other
""",
        file="<test>",
    )


def test_quintile_ties_are_broken_by_the_key_so_scores_are_deterministic() -> None:
    # given: ten identical customers, in scrambled row order
    ids = [f"C{i}" for i in range(10)]
    data = tables(ids, [(c, 7, Decimal(10)) for c in ids])
    expected_tiles = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # in key order, for R, F and M alike
    for seed in (0, 1, 2):
        result = run(_quintile_policy(), shuffled(data, seed))
        scores = [result[c]["rfm.score"] for c in ids]
        assert scores == [t * 111 for t in expected_tiles]


def test_quintile_best_fifth_scores_5() -> None:
    # given: five customers, C0 the most recent, most frequent and biggest
    ids = [f"C{i}" for i in range(5)]
    rows: list[Order] = []
    for i, cid in enumerate(ids):
        rows += [(cid, 10 * (i + 1), Decimal(100 * (5 - i)))] * (5 - i)
    result = run(_quintile_policy(), tables(ids, rows), explain=True)
    assert [result[c]["rfm.score"] for c in ids] == [555, 444, 333, 222, 111]
    assert result["C0"]["rfm.why"].startswith("any: R5 F5 M5（")


def test_quintile_outside_population_is_not_tiled() -> None:
    ids = [f"C{i}" for i in range(5)]
    rows: list[Order] = [(c, 10 + i, Decimal(100 + i)) for i, c in enumerate(ids)]
    lapsed: list[Order] = [("OLD", 500, Decimal(1_000_000))]
    alone = run(_quintile_policy(), tables(ids, rows))
    together = run(_quintile_policy(), tables([*ids, "OLD"], rows + lapsed))
    assert together["OLD"]["rfm"] is None
    assert together["OLD"]["rfm.score"] is None
    assert {c: together[c]["rfm.score"] for c in ids} == {c: alone[c]["rfm.score"] for c in ids}


def test_quintile_first_matching_segment_wins_else_default() -> None:
    policy = _quintile_policy(
        "[{label: top, when: 'r = 5 AND f = 5'}, {label: recent, when: 'r >= 4'}]"
    )
    ids = [f"C{i}" for i in range(5)]
    rows: list[Order] = []
    for i, cid in enumerate(ids):
        rows += [(cid, 10 * (i + 1), Decimal(100))] * (5 - i)
    result = run(policy, tables(ids, rows), explain=True)
    assert [result[c]["rfm"] for c in ids] == ["top", "recent", "other", "other", "other"]
    assert "满足 “r = 5 AND f = 5”" in result["C0"]["rfm.why"]
    assert "不满足任何分群规则" in result["C4"]["rfm.why"]


def ntile5(keys_in_order: list[str]) -> dict[str, int]:
    """NTILE(5) as SQL defines it: the first n % 5 tiles hold one row more."""
    n = len(keys_in_order)
    size, extra = divmod(n, 5)
    out: dict[str, int] = {}
    pos = 0
    for tile in range(1, 6):
        count = size + (1 if tile <= extra else 0)
        for key in keys_in_order[pos : pos + count]:
            out[key] = tile
        pos += count
    return out


def reference_segment(r: int, f: int) -> str:
    """The usual R x F segment map, written independently of the shipped rules."""
    grid = {
        5: ["new_customers", "potential_loyalists", "potential_loyalists", "champions"],
        4: ["promising", "potential_loyalists", "potential_loyalists", "loyal_customers"],
        3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers"],
    }
    f_col = {1: 0, 2: 1, 3: 2, 4: 3, 5: 3}[f]
    if r >= 3:
        return grid[r][f_col]
    return {1: "hibernating", 2: "hibernating", 3: "at_risk", 4: "at_risk", 5: "cant_lose"}[f]


def reference_quintile(ids: list[str], rows: list[Order]) -> dict[str, tuple[str, int] | None]:
    window = (AS_OF - date(2024, 10, 31)).days - 1  # 24 months: after 2024-10-31
    last: dict[str, int] = {}
    freq: dict[str, int] = dict.fromkeys(ids, 0)
    money: dict[str, Decimal] = dict.fromkeys(ids, Decimal(0))
    for cid, days, amount in rows:
        last[cid] = min(last.get(cid, days), days)
        if days <= window:
            freq[cid] += 1
            money[cid] += amount
    pop = sorted(c for c in ids if freq[c] > 0)  # sorted by key: ties keep key order
    r = ntile5(sorted(pop, key=lambda c: -last[c]))  # stable sort: key breaks ties
    f = ntile5(sorted(pop, key=lambda c: freq[c]))
    m = ntile5(sorted(pop, key=lambda c: money[c]))
    out: dict[str, tuple[str, int] | None] = dict.fromkeys(ids)
    for c in pop:
        out[c] = (reference_segment(r[c], f[c]), r[c] * 100 + f[c] * 10 + m[c])
    return out


@pytest.mark.parametrize("seed", [11, 12])
def test_quintile_segments_match_a_plain_python_reference(seed: int) -> None:
    ids, rows = random_orders(seed, 300)
    result = run(SEGMENTS, tables(ids, rows))
    got = {
        c: None if result[c]["rfm"] is None else (result[c]["rfm"], result[c]["rfm.score"])
        for c in ids
    }
    expected = reference_quintile(ids, rows)
    assert got == expected
    assert len({v[0] for v in expected.values() if v}) == 10  # every segment occurs


def test_quintile_does_not_depend_on_row_order() -> None:
    ids, rows = random_orders(5, 150)
    data = tables(ids, rows)
    base = run(SEGMENTS, data, explain=True)
    assert run(SEGMENTS, shuffled(data, 3), explain=True) == base
