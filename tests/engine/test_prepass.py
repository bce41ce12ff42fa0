"""Natural-breaks cuts end to end: the pre-pass query, the classes it finds, exact boundaries.

Each test builds small Arrow tables whose values cluster in an obvious way, resolves the policy
with the pre-pass on DuckDB, evaluates it, and checks the labels and the explanation.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from fenji.engine.compiler import CompileError, compile_policy
from fenji.engine.dialects import SPARK
from fenji.engine.evaluate import evaluate_tables
from fenji.engine.prepass import plan_prepass, resolve_natural_breaks
from fenji.engine.runner import locked_connection
from fenji.policy.models import Policy

from .helpers import AS_OF, customers, orders, policy, run

BANDS = policy(
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
      - {label: A, min: {natural_breaks: 4, class: 1}}
      - {label: B, min: {natural_breaks: 4, class: 2}}
      - {label: C, min: {natural_breaks: 4, class: 3}}
      - {label: D}
"""
)

#: Four obvious clusters; the first value of each is the lowest of its class.
CLUSTERS = {
    "D": [0, 5, 10, 12, 15],
    "C": [3_000, 3_100, 3_250],
    "B": [7_000, 7_200, 7_500, 7_800],
    "A": [12_000, 12_400],
}


def tables(amounts: Mapping[str, Any]) -> dict[str, pa.Table]:
    """One customer per entry, with one order of that amount (none when the amount is None)."""
    return {
        "customers": customers([{"customer_id": c} for c in amounts]),
        "orders": orders(
            [{"customer_id": c, "amount": a} for c, a in amounts.items() if a is not None]
        ),
    }


def clustered() -> dict[str, int]:
    return {f"{label}{i}": v for label, vs in CLUSTERS.items() for i, v in enumerate(vs)}


def resolve(p: Policy, data: dict[str, pa.Table], queries: list[str] | None = None) -> Policy:
    """``p`` resolved over ``data`` on DuckDB; the SQL run is appended to ``queries``."""
    con = locked_connection(data)

    def execute(sql: str) -> list[Any]:
        if queries is not None:
            queries.append(sql)
        return con.execute(sql).fetchall()

    try:
        columns = {name: set(t.column_names) for name, t in data.items()}
        return resolve_natural_breaks(p, AS_OF, columns, execute)
    finally:
        con.close()


def labels(p: Policy, data: dict[str, pa.Table], **kw: Any) -> dict[str, dict[str, Any]]:
    return run(resolve(p, data), data, **kw)


def run_fixed(p: Policy, data: dict[str, pa.Table], **kw: Any) -> dict[str, dict[str, Any]]:
    """Run a resolved policy with its cut values as they are (evaluating would find them anew
    over ``data``)."""
    compiled = compile_policy(p, AS_OF, {k: set(v.column_names) for k, v in data.items()}, **kw)
    con = locked_connection(data)
    try:
        rows = con.sql(compiled.sql()).to_arrow_table().to_pylist()
    finally:
        con.close()
    return {r["customer_id"]: r for r in rows}


def floors(p: Policy, dim: str) -> list[Decimal | None]:
    spec: Any = p.dimensions[dim]
    return [b.bound.break_value for b in spec.bands if b.bound is not None]


def test_bands_with_natural_breaks_follow_the_clusters() -> None:
    result = labels(BANDS, tables(clustered()))
    assert {c: r["sales"] for c, r in result.items()} == {c: c[0] for c in clustered()}


def test_the_lowest_value_of_a_class_is_in_that_class() -> None:
    # given the resolved policy
    resolved = resolve(BANDS, tables(clustered()))
    # then each cut is the first value of its cluster, exactly
    assert floors(resolved, "sales") == [Decimal(12_000), Decimal(7_000), Decimal(3_000)]
    # and one cent below a cut is in the class below
    data = clustered() | {"EDGE": Decimal("6999.99")}
    result = run_fixed(resolved, tables(data))
    assert result["B0"]["sales"] == "B"
    assert result["EDGE"]["sales"] == "C"


def test_explanation_shows_the_value_found() -> None:
    result = labels(BANDS, tables(clustered()), explain=True, lang="en")
    assert result["B1"]["sales.why"] == (
        "B: sales_12m 7200 yuan in [7000 yuan, 12000 yuan); +4800 yuan reaches A"
    )


def test_classes_are_taken_over_the_dimension_population_only() -> None:
    # A huge customer forced to D by a first rule must not become a class of its own, and
    # customers outside the population, or outside the cut's 'where', take no part either.
    text = """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
dimensions:
  sales:
    method: bands
    metric: sales_12m
    first: [{label: D, when: "customer_id = 'HUGE'"}]
    population: "customer_id <> 'OUT'"
    outside: X
    bands:
      - {label: A, min: {natural_breaks: 2, class: 1, where: "sales_12m > 0"}}
      - {label: B}
"""
    data = {"L1": 10, "L2": 12, "H1": 100, "H2": 110, "Z": 0, "HUGE": 10**9, "OUT": 10**8}
    data |= {f"Z{i}": 0 for i in range(20)}
    result = labels(policy(text), tables(data))
    assert {c: result[c]["sales"] for c in ("L1", "L2", "H1", "H2", "Z", "HUGE", "OUT")} == {
        "L1": "B",
        "L2": "B",
        "H1": "A",
        "H2": "A",
        "Z": "B",
        "HUGE": "D",
        "OUT": "X",
    }


def test_more_distinct_values_than_buckets_still_follow_the_clusters() -> None:
    # 1,500 distinct values in three clusters: the pre-pass summarises them into 1,000 buckets
    # of equal population, so a bucket straddles each gap; a second query finds the lowest
    # value nearer the upper class's mean, which is the first value of the cluster.
    rng = random.Random(11)
    data: dict[str, Decimal] = {}
    centres = {"A": 900_000, "B": 400_000, "C": 10_000}
    for label, centre in centres.items():
        for i in range(500):
            data[f"{label}{i:03d}"] = Decimal(centre + rng.randint(0, 50_000)) + Decimal(i) / 100
    queries: list[str] = []
    resolved = resolve(policy(BANDS_TEXT_3), tables(data), queries)
    assert len(queries) == 2
    lowest = {label: min(v for c, v in data.items() if c[0] == label) for label in "AB"}
    assert floors(resolved, "sales") == [lowest["A"], lowest["B"]]
    result = run(resolved, tables(data))
    assert all(r["sales"] == c[0] for c, r in result.items())


BANDS_TEXT_3 = """
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
      - {label: A, min: {natural_breaks: 3, class: 1}}
      - {label: B, min: {natural_breaks: 3, class: 2}}
      - {label: C}
"""


def test_a_ratio_at_the_boundary_is_in_the_upper_class() -> None:
    # Ratios are binary fractions rounded to 9 decimals; the cut is the lowest ratio exactly,
    # so the customer holding it meets an inclusive bound.
    text = """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months}
  qty_12m: {agg: sum, from: orders, of: quantity, window: 12 months}
dimensions:
  price:
    method: bands
    metric: "sales_12m / qty_12m"
    bands:
      - {label: H, min: {natural_breaks: 2, class: 1}}
      - {label: L}
"""
    rows = [("L1", 1, 3), ("L2", 1, 7), ("H1", 2, 3), ("H2", 7, 9), ("H3", 10, 11)]
    data = {
        "customers": customers([{"customer_id": c} for c, _, _ in rows]),
        "orders": orders([{"customer_id": c, "amount": a, "quantity": q} for c, a, q in rows]),
    }
    resolved = resolve(policy(text), data)
    assert floors(resolved, "price") == [Decimal("0.666666667")]
    result = run(resolved, data)
    assert {c: r["price"] for c, r in result.items()} == {c: c[0] for c, _, _ in rows}


def test_fewer_distinct_values_than_classes() -> None:
    # Two distinct values make two classes; class 3 of 4 does not exist and no one meets it.
    data = {"X": 9, "Y": 5, "Z": 5}
    resolved = resolve(BANDS, tables(data))
    assert floors(resolved, "sales") == [Decimal(9), Decimal(5), None]
    result = run_fixed(resolved, tables(data | {"W": Decimal(-1)}), explain=True, lang="en")
    assert {c: r["sales"] for c, r in result.items()} == {"X": "A", "Y": "B", "Z": "B", "W": "D"}
    # an undefined cut shows as a dash, as a percentile of an empty population does
    assert result["W"]["sales.why"] == "D: sales_12m -1 yuan in (-∞, — yuan); +— yuan reaches C"


def test_rows_in_any_order_give_the_same_cuts() -> None:
    data = tables(clustered())
    rng = random.Random(5)
    shuffled = {
        name: t.take(pa.array(rng.sample(range(t.num_rows), t.num_rows)))
        for name, t in data.items()
    }
    assert floors(resolve(BANDS, data), "sales") == floors(resolve(BANDS, shuffled), "sales")


def test_matrix_axis_cut_by_natural_breaks_names_it() -> None:
    text = """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
  orders_12m: {agg: count, from: orders, window: 12 months}
dimensions:
  m:
    method: matrix
    x: {metric: sales_12m, cut: {natural_breaks: 2, class: 1}}
    y: {metric: orders_12m, cut: 1}
    quadrants: {high_high: HH, high_low: HL, low_high: LH, low_low: LL}
"""
    result = labels(policy(text), tables({"S": 10, "T": 20, "U": 900}), explain=True, lang="en")
    assert {c: r["m"] for c, r in result.items()} == {"S": "LH", "T": "LH", "U": "HH"}
    assert "≥ natural break (class 1 of 2) 900 yuan" in result["U"]["m.why"]


def test_scorecard_cuts_that_depend_on_other_cuts_are_resolved_in_rounds() -> None:
    # Item points come from natural-breaks bands of sales; the grades are natural breaks of the
    # score, so they can only be found once the item cuts are known: two rounds.
    text = """
fenji: 1
name: t
title: t
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
  orders_12m: {agg: count, from: orders, window: 12 months}
dimensions:
  score:
    method: scorecard
    items:
      - name: size
        metric: sales_12m
        bands:
          - {points: 10, min: {natural_breaks: 2, class: 1}}
          - {points: 0}
      - {name: orders, value: "orders_12m"}
    grades:
      - {label: A, min: {natural_breaks: 2, class: 1}}
      - {label: B}
"""
    data = {"S1": 10, "S2": 20, "B1": 5_000, "B2": 6_000}
    rounds: list[str] = []
    t = tables(data)
    resolved = resolve(policy(text), t, rounds)
    assert len(rounds) == 2
    result = run(resolved, t)
    assert {c: (r["score"], r["score.score"]) for c, r in result.items()} == {
        "S1": ("B", 1),
        "S2": ("B", 1),
        "B1": ("A", 11),
        "B2": ("A", 11),
    }


def test_resolving_copies_the_policy_and_leaves_others_alone() -> None:
    data = tables(clustered())
    resolved = resolve(BANDS, data)
    assert resolved is not BANDS
    assert floors(BANDS, "sales") == [None, None, None]
    assert resolved.to_data() == BANDS.to_data()
    plain = policy(
        BANDS_TEXT_3.replace("{natural_breaks: 3, class: 1}", "100").replace(
            "{natural_breaks: 3, class: 2}", "10"
        )
    )
    assert resolve(plain, data) is plain


def test_resolving_again_uses_the_new_data() -> None:
    first = resolve(BANDS, tables(clustered()))
    again = resolve(first, tables({"P": 1, "Q": 2, "R": 300, "S": 4_000, "T": 50_000}))
    assert floors(again, "sales") == [Decimal(50_000), Decimal(4_000), Decimal(300)]


def test_compiling_an_unresolved_policy_says_what_to_do() -> None:
    with pytest.raises(CompileError, match="resolve_natural_breaks"):
        compile_policy(BANDS, AS_OF, {"customers": {"customer_id"}, "orders": ORDER_COLUMNS})


ORDER_COLUMNS = {"order_id", "customer_id", "order_date", "amount", "quantity", "status"}


def test_the_prepass_query_is_plain_sql_on_spark_too() -> None:
    columns = {"customers": {"customer_id"}, "orders": ORDER_COLUMNS}
    plan = plan_prepass(BANDS, AS_OF, columns, dialect=SPARK)
    assert plan is not None
    sql = plan.sql()
    assert " DIV " in sql
    assert "QUANTILE" not in sql.upper()
    assert "PERCENTILE" not in sql.upper()
    # the three cuts over the same values share one sample
    assert len(plan.samples) == 1
    assert len(plan.samples[0]) == 3


def test_evaluate_tables_resolves_natural_breaks_itself() -> None:
    result = evaluate_tables(BANDS, tables(clustered()), AS_OF)
    labels_ = {r["customer_id"]: r["sales"] for r in result.table.to_pylist()}
    assert labels_ == {c: c[0] for c in clustered()}
