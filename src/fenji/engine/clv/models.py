"""Fit both models on a summary and predict per customer: the one entry point for the CLI, the
API and the policy pre-pass.

Predictions are computed once per distinct (x, t_x, T) — customers with the same history get
the same P(alive) and expected purchases — and spread back to customers; only the expected
spend, which also depends on each customer's mean value, is computed per customer. Every
prediction is checked to be finite: a model that cannot predict raises, it never returns NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from fenji.engine.clv import bgnbd, gammagamma
from fenji.engine.clv.bgnbd import BgNbd
from fenji.engine.clv.fitting import Fit, FloatArray
from fenji.engine.clv.gammagamma import GammaGamma
from fenji.engine.clv.summary import CustomerSummary
from fenji.engine.clv.value import discounted_purchases, month_in

Prediction = Literal["p_alive", "expected_orders", "expected_spend", "clv"]
PREDICTIONS: tuple[Prediction, ...] = ("p_alive", "expected_orders", "expected_spend", "clv")


@dataclass(frozen=True)
class FittedModels:
    """BG/NBD (and Gamma-Gamma, when spend is modelled) fitted on one summary."""

    as_of: str
    time_unit: str
    customers: int
    repeaters: int
    bgnbd: Fit
    gamma_gamma: Fit | None = None
    spend_correlation: float | None = None

    @property
    def purchases(self) -> BgNbd:
        return BgNbd.from_fit(self.bgnbd)

    @property
    def spend(self) -> GammaGamma:
        if self.gamma_gamma is None:
            raise ValueError("the spend model was not fitted")
        return GammaGamma.from_fit(self.gamma_gamma)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON and for keeping with an evaluation run."""
        return {
            "as_of": self.as_of,
            "time_unit": self.time_unit,
            "customers": self.customers,
            "repeat_customers": self.repeaters,
            "bgnbd": self.bgnbd.as_dict(),
            "gamma_gamma": self.gamma_gamma.as_dict() if self.gamma_gamma else None,
            "spend_frequency_correlation": self.spend_correlation,
        }


def fit_models(summary: CustomerSummary, *, spend: bool = True) -> FittedModels:
    """Fit BG/NBD on every customer of ``summary`` and, with ``spend``, Gamma-Gamma on those
    with a repeat purchase of positive mean value. Raises
    :class:`~fenji.engine.clv.errors.ModelError` when either cannot be fitted."""
    g = summary.grouped()
    purchases = bgnbd.fit(g.x, g.t_x, g.T, g.weights)
    spend_fit = None
    correlation = None
    if spend:
        spend_fit = gammagamma.fit(summary.x, summary.monetary)
        correlation = gammagamma.spend_frequency_correlation(summary.x, summary.monetary)
    return FittedModels(
        as_of=summary.as_of.isoformat(),
        time_unit=summary.time_unit,
        customers=len(summary),
        repeaters=int((summary.x > 0).sum()),
        bgnbd=purchases,
        gamma_gamma=spend_fit,
        spend_correlation=correlation,
    )


def predict_arrays(
    models: FittedModels,
    summary: CustomerSummary,
    *,
    horizon: float,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    period: float | None = None,
    wanted: tuple[Prediction, ...] = PREDICTIONS,
) -> dict[str, FloatArray]:
    """The ``wanted`` predictions per customer, in the order of ``summary``.

    ``horizon`` and ``period`` (the discounting period, default a month) are in the summary's
    time unit; ``discount_rate`` is per period (see :mod:`fenji.engine.clv.value`)."""
    g = summary.grouped()
    params = models.purchases
    out: dict[str, FloatArray] = {}
    if "p_alive" in wanted:
        out["p_alive"] = bgnbd.p_alive(params, g.x, g.t_x, g.T)[g.inverse]
    if "expected_orders" in wanted:
        out["expected_orders"] = bgnbd.conditional_expected(params, horizon, g.x, g.t_x, g.T)[
            g.inverse
        ]
    if "expected_spend" in wanted or "clv" in wanted:
        spend = gammagamma.expected_spend(models.spend, summary.x, summary.monetary)
        if "expected_spend" in wanted:
            out["expected_spend"] = spend
        if "clv" in wanted:
            step = period if period is not None else month_in(summary.time_unit)
            weighted = discounted_purchases(
                params, horizon, g.x, g.t_x, g.T, discount_rate=discount_rate, period=step
            )
            out["clv"] = margin * spend * weighted[g.inverse]
    return out


def predict(
    models: FittedModels,
    summary: CustomerSummary,
    *,
    horizon: float,
    discount_rate: float = 0.0,
    margin: float = 1.0,
    period: float | None = None,
) -> pa.Table:
    """One row per customer: the summary (x, t_x, T, monetary) and every prediction the fitted
    models allow (spend and CLV only with the spend model)."""
    wanted: tuple[Prediction, ...] = (
        PREDICTIONS if models.gamma_gamma is not None else ("p_alive", "expected_orders")
    )
    values = predict_arrays(
        models,
        summary,
        horizon=horizon,
        discount_rate=discount_rate,
        margin=margin,
        period=period,
        wanted=wanted,
    )
    monetary = pa.array(summary.monetary, mask=summary.x == 0)
    columns: dict[str, Any] = {
        "customer_id": summary.customer_id,
        "x": pa.array(summary.x),
        "t_x": pa.array(summary.t_x),
        "T": pa.array(summary.T),
        "monetary": monetary,
    }
    columns.update({name: pa.array(np.asarray(v)) for name, v in values.items()})
    return pa.table(columns)


__all__ = [
    "PREDICTIONS",
    "FittedModels",
    "Prediction",
    "fit_models",
    "predict",
    "predict_arrays",
]
