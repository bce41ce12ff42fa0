"""Model metrics in policies: P(alive), expected orders, spend and CLV graded like any metric.

The metrics are fitted on the orders at the as-of date by the model pre-pass; their values must
equal the models' predictions computed directly, the fitted parameters must be kept with the
evaluation, and a model that cannot be fitted must stop the evaluation with its reason.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from fenji.engine.clv.errors import ModelError
from fenji.engine.clv.models import fit_models, predict_arrays
from fenji.engine.clv.summary import summarize_orders
from fenji.engine.evaluate import evaluate_tables
from fenji.io.cdnow import read_cdnow
from fenji.policy.validate import PolicyError

from ..helpers import customers, orders, policy
from .conftest import CALIBRATION_END, cdnow_dir, needs_cdnow

POLICY = """
fenji: 1
name: clv_tiers
title: 客户终身价值分级
metrics:
  p_alive_now: {model: bgnbd, predict: p_alive, from: orders, time_unit: week}
  orders_13w: {model: bgnbd, predict: expected_orders, from: orders, horizon: 13 weeks}
  spend: {model: bgnbd, predict: expected_spend, from: orders}
  clv_12m:
    model: bgnbd
    predict: clv
    from: orders
    horizon: 12 months
    discount_rate: 0.01
    margin: 0.3
dimensions:
  alive:
    method: bands
    metric: p_alive_now
    bands:
      - {label: active, min: 0.5}
      - {label: lapsing}
  value:
    method: bands
    metric: clv_12m
    bands:
      - {label: A, min: 10}
      - {label: B, min: 3}
      - {label: C}
"""


@pytest.fixture(scope="module")
def cdnow_orders() -> pa.Table:
    return read_cdnow(cdnow_dir() / "CDNOW_sample.txt")


@needs_cdnow
def test_model_metrics_equal_the_models_predictions(cdnow_orders: pa.Table) -> None:
    # given the models fitted directly on the same orders
    summary = summarize_orders(cdnow_orders, CALIBRATION_END, time_unit="week")
    fitted = fit_models(summary)
    direct = predict_arrays(fitted, summary, horizon=13.0, wanted=("p_alive", "expected_orders"))
    clv = predict_arrays(
        fitted,
        summary,
        horizon=12 * 365.2425 / 12 / 7,
        discount_rate=0.01,
        margin=0.3,
        wanted=("clv",),
    )
    # when the policy is evaluated
    result = evaluate_tables(
        policy(POLICY), {"orders": cdnow_orders}, CALIBRATION_END, include_metrics=True
    )
    table = result.table.sort_by("customer_id")
    # then every customer has the predicted values, rounded to 9 decimals
    assert table.column("customer_id").to_pylist() == summary.customer_id.to_pylist()
    got = {
        name: table.column(name).cast(pa.float64()).to_numpy()
        for name in ("p_alive_now", "orders_13w", "clv_12m")
    }
    assert got["p_alive_now"] == pytest.approx(direct["p_alive"], abs=1e-9)
    assert got["orders_13w"] == pytest.approx(direct["expected_orders"], abs=1e-9)
    assert got["clv_12m"] == pytest.approx(clv["clv"], abs=1e-9)
    labels = table.column("alive").to_pylist()
    assert labels == ["active" if p >= 0.5 else "lapsing" for p in got["p_alive_now"]]
    assert set(table.column("value").to_pylist()) == {"A", "B", "C"}


@needs_cdnow
def test_fitted_parameters_are_kept_with_the_evaluation(cdnow_orders: pa.Table) -> None:
    result = evaluate_tables(policy(POLICY), {"orders": cdnow_orders}, CALIBRATION_END)
    kept = result.model_parameters()
    assert list(kept) == ["__fenji_model_orders_week"]
    params = kept["__fenji_model_orders_week"]
    assert params["as_of"] == "1997-09-30"
    assert params["bgnbd"]["parameters"]["r"]["value"] == pytest.approx(0.2426, abs=1e-4)
    assert params["bgnbd"]["parameters"]["r"]["se"] > 0
    assert params["gamma_gamma"]["parameters"]["q"]["value"] == pytest.approx(3.744, abs=1e-3)


@needs_cdnow
def test_model_metrics_explain_like_any_metric(cdnow_orders: pa.Table) -> None:
    result = evaluate_tables(policy(POLICY), {"orders": cdnow_orders}, CALIBRATION_END)
    why = {e.dimension: e for e in result.explain("00004")}
    assert why["alive"].label in ("active", "lapsing")
    assert why["value"].why


def test_a_model_that_cannot_be_fitted_stops_the_evaluation() -> None:
    rows = [
        {"customer_id": f"C{i}", "order_date": date(2026, 1, 1 + i % 20), "amount": 10}
        for i in range(40)
    ]
    with pytest.raises(ModelError, match=r"metric\(s\) 'p_alive_now'.*0 of them") as err:
        evaluate_tables(
            policy(
                """
fenji: 1
name: t
title: t
metrics:
  p_alive_now: {model: bgnbd, predict: p_alive, from: orders}
dimensions:
  alive: {method: bands, metric: p_alive_now, bands: [{label: A, min: 0.5}, {label: B}]}
"""
            ),
            {"orders": orders(rows)},
            date(2026, 10, 31),
        )
    assert err.value.code == "clv.too_few_repeaters"


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("{model: bgnbd, predict: clv, from: orders}", "needs a horizon"),
        ("{model: bgnbd, predict: p_alive, from: orders, horizon: 90 days}", "remove 'horizon'"),
        ("{model: bgnbd, predict: clv, from: orders, horizon: soon}", "not understood"),
        ("{model: bgnbd, from: orders}", "needs 'predict'"),
        ("{model: bgnbd, predict: p_alive}", "needs 'from'"),
        ("{model: bgnbd, predict: p_alive, from: orders, window: 90 days}", "belong to agg"),
        ("{agg: count, from: orders, horizon: 90 days}", "belong to model metrics"),
        (
            "{model: bgnbd, predict: expected_orders, from: orders, horizon: 9 weeks, "
            "discount_rate: 0.1}",
            "belong to predict: clv",
        ),
        ("{model: bgnbd, predict: p_alive, from: receivables}", "has no order_date"),
    ],
)
def test_bad_model_metrics_are_refused_with_a_hint(metric: str, message: str) -> None:
    text = f"""
fenji: 1
name: t
title: t
metrics:
  m: {metric}
dimensions:
  d: {{method: bands, metric: m, bands: [{{label: A, min: 1}}, {{label: B}}]}}
"""
    with pytest.raises(PolicyError, match=message):
        policy(text)


def simulated_orders(n: int, as_of: date, seed: int) -> list[dict[str, object]]:
    """Orders of ``n`` customers who buy as BG/NBD says (rate per day, 100-600 days observed)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for i in range(n):
        rate, drop = rng.gamma(0.8, 1 / 40), rng.beta(0.7, 3.0)
        observed = int(rng.integers(100, 600))
        first = as_of.toordinal() - observed
        day, now = [first], 0.0
        while True:
            now += rng.exponential(1 / rate)
            if now > observed:
                break
            day.append(first + int(now))
            if rng.uniform() < drop:
                break
        rows += [
            {"customer_id": f"C{i:03}", "order_date": date.fromordinal(d), "amount": 20}
            for d in day
        ]
    return rows


def test_customers_without_purchases_have_no_prediction() -> None:
    # given 300 customers who buy as the BG/NBD process says, and one who never bought
    as_of = date(2026, 10, 31)
    result = evaluate_tables(
        policy(
            """
fenji: 1
name: t
title: t
metrics:
  p: {model: bgnbd, predict: p_alive, from: orders, time_unit: day}
dimensions:
  alive: {method: bands, metric: p, bands: [{label: A, min: 0.5}, {label: B}]}
"""
        ),
        {
            "customers": customers([{"customer_id": f"C{i:03}"} for i in range(301)]),
            "orders": orders(simulated_orders(300, as_of, seed=5)),
        },
        as_of,
        include_metrics=True,
    )
    # then the one without purchases has no prediction (graded as missing), the others have one
    by_id = {r["customer_id"]: r for r in result.table.to_pylist()}
    assert by_id["C300"]["p"] is None
    assert by_id["C300"]["alive"] == "B"
    assert all(0 < by_id[f"C{i:03}"]["p"] <= 1 for i in range(300))
