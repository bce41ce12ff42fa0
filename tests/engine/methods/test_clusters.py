"""Clusters: k-means over standardised metrics, fitted by a pre-pass and ranked by value.

Small, clearly separated customer groups are built by hand; the clusters must come back as
those groups, numbered by mean sales (1 = highest), the same whatever the row order, and the
silhouette must find the number of groups on its own.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from tests.conftest import POLICIES, acceptance_dir
from tests.engine.helpers import AS_OF, customers, orders

from fenji.engine.clusters import fit_clusters
from fenji.engine.evaluate import evaluate_tables
from fenji.io import read_dataset
from fenji.policy.validate import PolicyError, load_policy, parse_policy

GROUPS = {
    # prefix: (customers, sales per order, orders, days since the last order)
    "H": (8, 120_000, 12, 5),
    "M": (8, 15_000, 6, 40),
    "L": (8, 2_000, 1, 250),
}


def policy_text(*, grading: str = "k: 3", extra: str = "") -> str:
    return f"""
fenji: 1
name: t
version: 1
title: t
grain: customer
metrics:
  sales_12m: {{agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}}
  orders_12m: {{agg: count, from: orders, window: 12 months, unit: count}}
  recency_days: {{agg: days_since_last, from: orders, unit: day}}
dimensions:
  cluster:
    method: clusters
    metrics:
      - {{metric: sales_12m, log: true}}
      - orders_12m
      - recency_days
    value: sales_12m
    {grading}
    seed: 7
{extra}
"""


def build_orders(seed: int = 1) -> pa.Table:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for prefix, (count, amount, n_orders, last) in GROUPS.items():
        for i in range(count):
            cid = f"{prefix}{i:02d}"
            for j in range(n_orders):
                day = AS_OF - timedelta(days=last + rng.randint(0, 3) + 9 * j)
                value = round(amount * rng.uniform(0.9, 1.1), 2)
                rows.append({"customer_id": cid, "order_date": day, "amount": value})
    return orders(rows)


def labels(text: str, tables: dict[str, pa.Table], **kw: Any) -> dict[str, Any]:
    result = evaluate_tables(parse_policy(text, file="<test>"), tables, AS_OF, **kw)
    try:
        return {r["customer_id"]: r for r in result.table.to_pylist()}
    finally:
        result.close()


def shuffled(table: pa.Table, seed: int) -> pa.Table:
    order = list(range(table.num_rows))
    random.Random(seed).shuffle(order)
    return table.take(pa.array(order))


def test_obvious_clusters_are_recovered_and_ordered_by_value() -> None:
    got = labels(policy_text(), {"orders": build_orders()})
    expected = {"H": "1", "M": "2", "L": "3"}
    assert {cid: row["cluster"] for cid, row in got.items()} == {
        cid: expected[cid[0]] for cid in got
    }


def test_names_per_rank_and_explanation_profile() -> None:
    text = policy_text(grading="k: 3\n    names: [gold, silver, bronze]")
    got = labels(text, {"orders": build_orders()}, explain=True, lang="en")
    assert {got[c]["cluster"] for c in got if c.startswith("H")} == {"gold"}
    assert {got[c]["cluster"] for c in got if c.startswith("L")} == {"bronze"}
    why = got["H00"]["cluster.why"]
    assert why.startswith("gold: cluster 1 of 3")
    assert "8 customers" in why
    assert "centroid sales_12m" in why
    assert got["M00"]["cluster.next"] == "gold"


def test_same_seed_and_shuffled_rows_give_the_same_labels() -> None:
    text = policy_text(grading="k_range: [2, 6]")
    base = build_orders()
    first = labels(text, {"orders": base})
    again = labels(text, {"orders": base})
    for seed in (1, 2, 3):
        other = labels(text, {"orders": shuffled(base, seed)})
        assert {c: r["cluster"] for c, r in other.items()} == {
            c: r["cluster"] for c, r in first.items()
        }
    assert again == first


def test_silhouette_picks_the_number_of_groups() -> None:
    got = labels(policy_text(grading="k_range: [2, 6]"), {"orders": build_orders()})
    assert {r["cluster"] for r in got.values()} == {"1", "2", "3"}


def test_silhouette_on_separated_blobs() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=float)
    x = np.concatenate([c + rng.normal(0, 0.3, size=(25, 2)) for c in centres])
    found = fit_clusters(x, x[:, 0] + x[:, 1], x[:, 0], [False, False], (2, 8), seed=3)
    assert found.k == 4
    assert sorted(found.sizes) == [25, 25, 25, 25]
    # ranked by value x + y: the (10, 10) blob first, the (0, 0) blob last
    assert set(found.ranks[75:]) == {1}
    assert set(found.ranks[:25]) == {4}
    assert found.centroids[0] == pytest.approx([10, 10], abs=0.2)


def test_missing_metric_is_not_clustered_and_gets_missing_label() -> None:
    tables = {
        "orders": build_orders(),
        "customers": customers([{"customer_id": c} for c in ["H00", "M00", "L00", "Z99"]]),
    }
    got = labels(policy_text(extra='    missing: "none"'), tables, explain=True)
    assert got["Z99"]["cluster"] == "none"  # no order: recency is missing
    assert "未参与聚类" in got["Z99"]["cluster.why"]
    assert got["H00"]["cluster"] == "1"


def test_forced_rules_and_population_are_not_clustered() -> None:
    extra = (
        '    population: "orders_12m >= 2"\n    outside: "-"\n'
        "    first: [{label: VIP, when: \"customer_id = 'H00'\"}]"
    )
    text = policy_text(grading="k: 2", extra=extra).replace(
        "    k: 2\n",
        "    k: 2\n    names: [top, rest]\n    labels: {top: {}, rest: {}, VIP: {}, '-': {}}\n",
    )
    got = labels(text, {"orders": build_orders()})
    assert got["H00"]["cluster"] == "VIP"
    assert {got[c]["cluster"] for c in got if c.startswith("L")} == {"-"}
    assert {got[c]["cluster"] for c in got if c.startswith("H") and c != "H00"} == {"top"}
    assert {got[c]["cluster"] for c in got if c.startswith("M")} == {"rest"}


def issue_codes(text: str) -> set[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, file="p.yaml")
    return {i.code for i in info.value.issues}


def test_unknown_metrics_are_reported() -> None:
    text = (
        policy_text()
        .replace("- orders_12m", "- orders_24m")
        .replace("value: sales_12m", "value: margin")
    )
    with pytest.raises(PolicyError) as info:
        parse_policy(text, file="p.yaml")
    messages = " ".join(i.message for i in info.value.issues)
    assert {i.code for i in info.value.issues} == {"policy.unknown_metric"}
    assert "orders_24m" in messages
    assert "margin" in messages


@pytest.mark.parametrize(
    ("grading", "code"),
    [
        ("k_range: [5, 2]", "policy.clusters_k_range"),
        ("k_range: [1, 4]", "policy.clusters_k_range"),
        ("k_range: [2, 30]", "policy.clusters_k_range"),
        ("k_range: [3]", "policy.clusters_k_range"),
        ("k: 1", "policy.clusters_k"),
        ("k: 3\n    k_range: [2, 4]", "policy.clusters_k"),
        ("k: 3\n    names: [a, b]", "policy.clusters_names"),
    ],
)
def test_bad_k_and_names_are_reported(grading: str, code: str) -> None:
    assert code in issue_codes(policy_text(grading=grading))


def test_shipped_example_runs_on_the_acceptance_data() -> None:
    data = acceptance_dir() / "data"
    if not data.is_dir():
        pytest.skip("acceptance data not available")
    p = load_policy(POLICIES / "clusters.yaml")
    tables = read_dataset(Path(data))
    result = evaluate_tables(p, tables, date(2026, 10, 31), explain=True)
    try:
        rows = result.table.to_pylist()
    finally:
        result.close()
    clustered = [r for r in rows if r["orders_12m"] > 0]
    assert clustered
    assert all(r["value_cluster"] in {"1", "2", "3", "4", "5"} for r in clustered)
    assert all(r["value_cluster"] is None for r in rows if r["orders_12m"] == 0)
    means: dict[str, list[float]] = {}
    for r in clustered:
        means.setdefault(r["value_cluster"], []).append(float(r["sales_12m"]))
    ranked = sorted(means, key=int)
    averages = [sum(means[k]) / len(means[k]) for k in ranked]
    assert averages == sorted(averages, reverse=True)
