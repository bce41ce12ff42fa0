"""Pareto (ABC): classes by the cumulative share of the entities ranked before, exactly.

The boundary rules tested here are the S2 decisions: a customer whose predecessors make exactly
70% of the total is a B, ties are ranked by customer id, and customers forced to D (no order,
overdue payments) or outside the population take no share of the total.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fenji.engine.compiler import compile_policy
from fenji.engine.runner import locked_connection, run_sql
from fenji.policy.models import Policy
from fenji.policy.validate import load_policy, parse_policy

AS_OF = date(2026, 10, 31)
MONEY = pa.decimal128(18, 4)
VALUE_ABCD = Path(__file__).resolve().parents[3] / "examples" / "policies" / "value_abcd.yaml"

ABC = """
fenji: 1
name: t
title: t
metrics:
  sales: {title: 销售额, agg: sum, from: orders, of: amount, unit: yuan}
  best_order: {agg: max, from: orders, of: amount, unit: yuan}
dimensions:
  value:
    method: pareto
    metric: METRIC
EXTRA
    classes:
      - {label: A, upto: 0.7}
      - {label: B, upto: 0.9}
      - {label: C}
"""


def abc(metric: str = "sales", extra: str = "") -> Policy:
    return parse_policy(ABC.replace("METRIC", metric).replace("EXTRA", extra), file="<test>")


def tables(
    amounts: dict[str, list[str]], regions: dict[str, str] | None = None
) -> dict[str, pa.Table]:
    """Customers with the given order amounts (one order per entry, all inside the window)."""
    ids = list(amounts)
    rows = [(c, Decimal(a)) for c in ids for a in amounts[c]]
    return {
        "customers": pa.table(
            {
                "customer_id": pa.array(ids, pa.string()),
                "region": pa.array([(regions or {}).get(c, "east") for c in ids], pa.string()),
            }
        ),
        "orders": pa.table(
            {
                "order_id": pa.array([f"O{i}" for i in range(len(rows))], pa.string()),
                "customer_id": pa.array([c for c, _ in rows], pa.string()),
                "order_date": pa.array([AS_OF] * len(rows), pa.date32()),
                "amount": pa.array([a for _, a in rows], MONEY),
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


def labels(policy: Policy, data: dict[str, pa.Table]) -> dict[str, str | None]:
    return {c: row["value"] for c, row in run(policy, data).items()}


def reference_abc(
    values: dict[str, Decimal | None], forced: set[str], bounds: tuple[Decimal, ...]
) -> dict[str, str]:
    """Plain-Python ABC: rank the unforced customers with a value by value descending, then id;
    class i while the sum before is < bounds[i] x total; forced customers get D."""
    ranked = sorted(
        ((v, c) for c, v in values.items() if c not in forced and v is not None),
        key=lambda vc: (-vc[0], vc[1]),
    )
    total = sum((v for v, _ in ranked), Decimal(0))
    out: dict[str, str] = dict.fromkeys(forced, "D")
    out.update({c: "C" for c, v in values.items() if v is None and c not in forced})
    before = Decimal(0)
    for v, c in ranked:
        out[c] = next(
            (label for label, b in zip("AB", bounds, strict=True) if before < b * total), "C"
        )
        before += v
    return out


# -- boundaries ---------------------------------------------------------------------------


def test_exactly_70_percent_before_is_b_and_exactly_90_percent_before_is_c() -> None:
    data = tables({"C1": ["70"], "C2": ["20"], "C3": ["10"]})
    assert labels(abc(), data) == {"C1": "A", "C2": "B", "C3": "C"}


def test_customer_that_crosses_70_percent_is_still_a() -> None:
    # C2 takes the cumulative share from 50% to 80%: the revenue before it is below 70%.
    data = tables({"C1": ["50"], "C2": ["30"], "C3": ["20"]})
    assert labels(abc(), data) == {"C1": "A", "C2": "A", "C3": "B"}


def test_share_just_below_70_percent_before_is_still_a() -> None:
    data = tables({"C1": ["69.9999"], "C2": ["20"], "C3": ["10.0001"]})
    assert labels(abc(), data)["C2"] == "A"


def test_ties_are_ranked_by_customer_id_ascending() -> None:
    # C1 and C2 tie at 20 after 60 of 100 before them: C1 comes first (60% -> A), C2 second
    # (80% -> B), whatever order the rows arrive in.
    data = tables({"C2": ["20"], "C4": ["30"], "C1": ["20"], "C3": ["30"]})
    assert labels(abc(), data) == {"C1": "A", "C2": "B", "C3": "A", "C4": "A"}


def test_forced_label_is_excluded_from_the_total() -> None:
    # C9 alone would hold 90% of the total; forced to D it takes no share, so C1..C3 are
    # graded among themselves exactly as without it.
    extra = '    first:\n      - {label: D, when: "best_order >= 900"}'
    data = tables({"C1": ["70"], "C2": ["20"], "C3": ["10"], "C9": ["900"]})
    assert labels(abc(extra=extra), data) == {"C1": "A", "C2": "B", "C3": "C", "C9": "D"}


def test_outside_the_population_is_excluded_from_the_total() -> None:
    extra = "    population: \"region = 'east'\"\n    outside: X"
    policy = parse_policy(
        ABC.replace("METRIC", "sales")
        .replace("EXTRA", extra)
        .replace("  sales:", "  region: {attribute: region}\n  sales:"),
        file="<test>",
    )
    data = tables({"C1": ["70"], "C2": ["20"], "C3": ["10"], "C9": ["900"]}, regions={"C9": "west"})
    assert labels(policy, data) == {"C1": "A", "C2": "B", "C3": "C", "C9": "X"}


def test_missing_value_gets_the_last_class_and_no_share() -> None:
    # best_order is NULL for a customer without orders: not ranked, not in the count.
    data = tables({"C1": ["70"], "C2": ["20"], "C3": ["10"], "C0": []})
    rows = run(abc(metric="best_order"), data, explain=True)
    assert {c: r["value"] for c, r in rows.items()} == {"C0": "C", "C1": "A", "C2": "B", "C3": "C"}
    assert rows["C1"]["value.why"] == "A: best_order 70元，排名第1/3，之前累计占比 0% < 70%"
    assert rows["C0"]["value.why"] == "C: best_order 无数据，不参与排名"


def test_no_positive_total_puts_everyone_in_the_last_class() -> None:
    data = tables({"C1": ["0"], "C2": []})
    assert labels(abc(), data) == {"C1": "C", "C2": "C"}


def test_explanation_gives_rank_and_cumulative_share_before() -> None:
    data = tables({"C1": ["70"], "C2": ["20"], "C3": ["10"]})
    zh = run(abc(), data, explain=True)
    assert zh["C2"]["value.why"] == ("B: 销售额 20元，排名第2/3，之前累计占比 70% ≥ 70% 且 < 90%")
    assert zh["C2"]["value.next"] == "A"
    assert zh["C1"]["value.next"] is None
    en = run(abc(), data, explain=True, lang="en")
    assert en["C3"]["value.why"] == (
        "C: 销售额 10 yuan, rank 3 of 3, cumulative share before 90% ≥ 90%"
    )


# -- the shipped S2 policy ----------------------------------------------------------------


def receivables(rows: list[tuple[str, date, date | None]]) -> pa.Table:
    return pa.table(
        {
            "invoice_id": pa.array([f"I{i}" for i in range(len(rows))], pa.string()),
            "customer_id": pa.array([c for c, _, _ in rows], pa.string()),
            "due_date": pa.array([d for _, d, _ in rows], pa.date32()),
            "amount": pa.array([Decimal(100)] * len(rows), MONEY),
            "paid_date": pa.array([p for _, _, p in rows], pa.date32()),
        }
    )


def test_value_abcd_overdue_more_than_90_days_is_d_but_exactly_90_is_not() -> None:
    data = tables({"C1": ["70"], "C2": ["20"], "C3": ["10"], "C4": ["900"], "C5": ["5"]})
    data["receivables"] = receivables(
        [
            ("C1", AS_OF - timedelta(days=90), None),  # exactly 90 days past due: not D
            ("C4", AS_OF - timedelta(days=91), None),  # 91 days, unpaid: D
            ("C5", AS_OF - timedelta(days=200), AS_OF + timedelta(days=1)),  # paid after D: D
            ("C2", AS_OF - timedelta(days=200), AS_OF),  # paid on the as-of date: not overdue
        ]
    )
    result = labels(load_policy(VALUE_ABCD), data)
    assert result == {"C1": "A", "C2": "B", "C3": "C", "C4": "D", "C5": "D"}


def test_value_abcd_no_order_in_12_months_is_d() -> None:
    data = tables({"C1": ["70"], "C2": ["30"]})
    old = data["orders"].to_pylist()
    old[1]["order_date"] = date(2025, 10, 31)  # exactly 12 months before: outside the window
    data["orders"] = pa.Table.from_pylist(old, schema=data["orders"].schema)
    data["receivables"] = receivables([])
    assert labels(load_policy(VALUE_ABCD), data) == {"C1": "A", "C2": "D"}


# -- parity and order independence --------------------------------------------------------


def random_amounts(rng: random.Random, n: int) -> dict[str, list[str]]:
    """Small integer amounts (many ties, frequent exact 70%/90% boundaries), some customers
    with several orders, some with none."""
    out: dict[str, list[str]] = {}
    for i in range(n):
        k = rng.choice([0, 1, 1, 1, 2, 3])
        out[f"C{i:04d}"] = [str(rng.choice([1, 2, 5, 10, 10, 20, 50, 100])) for _ in range(k)]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matches_plain_python_reference_on_random_customers(seed: int) -> None:
    rng = random.Random(seed)
    amounts = random_amounts(rng, 300)
    extra = '    first:\n      - {label: D, when: "best_order >= 100"}'
    policy = abc(metric="best_order" if seed % 2 else "sales", extra=extra)
    result = labels(policy, tables(amounts))
    best = {c: max((Decimal(a) for a in xs), default=None) for c, xs in amounts.items()}
    forced = {c for c, b in best.items() if b is not None and b >= 100}
    values: dict[str, Decimal | None] = (
        dict(best)
        if seed % 2
        else {c: sum((Decimal(a) for a in xs), Decimal(0)) for c, xs in amounts.items()}
    )
    assert result == reference_abc(values, forced, (Decimal("0.7"), Decimal("0.9")))


def test_exact_boundaries_match_the_reference_on_tiny_totals() -> None:
    # Totals of 10 or 20 make "exactly 70% before" common: the reference and SQL must agree.
    rng = random.Random(7)
    for _ in range(30):
        amounts = {f"C{i}": [str(rng.choice([1, 1, 2, 3]))] for i in range(rng.randint(3, 8))}
        values: dict[str, Decimal | None] = {c: Decimal(a[0]) for c, a in amounts.items()}
        expected = reference_abc(values, set(), (Decimal("0.7"), Decimal("0.9")))
        assert labels(abc(), tables(amounts)) == expected


def test_labels_do_not_depend_on_row_order() -> None:
    rng = random.Random(11)
    amounts = random_amounts(rng, 200)
    data = tables(amounts)
    before = labels(abc(), data)
    for name in ("customers", "orders"):
        t = data[name]
        order = list(range(t.num_rows))
        rng.shuffle(order)
        data[name] = t.take(pa.array(order))
    assert labels(abc(), data) == before
