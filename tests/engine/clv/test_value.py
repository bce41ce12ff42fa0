"""CLV over a horizon: discounting per period, horizons in words, predictions per customer."""

from __future__ import annotations

from datetime import date

import mpmath as mp
import numpy as np
import pytest

from fenji.engine.clv.bgnbd import BgNbd
from fenji.engine.clv.errors import ModelError
from fenji.engine.clv.models import fit_models, predict_arrays
from fenji.engine.clv.summary import CustomerSummary
from fenji.engine.clv.value import MONTH_DAYS, discounted_purchases, month_in, parse_horizon

from . import reference
from .conftest import needs_cdnow

PARAMS = (0.243, 4.414, 0.793, 2.426)


@pytest.mark.parametrize(
    ("text", "unit", "want"),
    [
        (39, "week", 39.0),
        ("39", "week", 39.0),
        ("39 weeks", "day", 273.0),
        ("90 days", "week", 90 / 7),
        ("12 months", "day", 12 * MONTH_DAYS),
        ("1 year", "week", 365.2425 / 7),
    ],
)
def test_horizons_are_converted_to_the_time_unit(text: str, unit: str, want: float) -> None:
    assert parse_horizon(text, unit) == pytest.approx(want)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["soon", "-3 weeks", "0", "12 fortnights"])
def test_bad_horizons_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(ModelError, match="horizon") as err:
        parse_horizon(text, "week")
    assert err.value.code == "clv.bad_argument"


def test_undiscounted_purchases_are_the_conditional_expectation() -> None:
    params = BgNbd(*PARAMS)
    x, t_x, T = np.array([0.0, 2.0, 9.0]), np.array([0.0, 30.43, 35.0]), np.full(3, 38.86)
    got = discounted_purchases(params, 39.0, x, t_x, T, discount_rate=0.0, period=month_in("week"))
    from fenji.engine.clv.bgnbd import conditional_expected

    assert got == pytest.approx(conditional_expected(params, 39.0, x, t_x, T), rel=1e-12)


def test_discounting_sums_each_period_at_its_end() -> None:
    # an independent route: the period increments of the integrated conditional expectation,
    # each discounted from the end of its period, the last (partial) one by its fraction
    params = BgNbd(*PARAMS)
    period, horizon, rate = 4.0, 10.0, 0.05
    got = discounted_purchases(
        params,
        horizon,
        np.array([2.0]),
        np.array([30.43]),
        np.array([38.86]),
        discount_rate=rate,
        period=period,
    )
    ends = [4.0, 8.0, 10.0]
    values = [reference.bgnbd_conditional_expected(PARAMS, e, 2, 30.43, 38.86) for e in ends]
    want = mp.fsum(
        (v - before) / (1 + rate) ** (e / period)
        for e, v, before in zip(ends, values, [0.0, *values[:-1]], strict=True)
    )
    assert float(got[0]) == pytest.approx(float(want), rel=1e-6)


def test_a_discount_rate_of_minus_one_or_less_is_refused() -> None:
    with pytest.raises(ModelError, match="above -1"):
        discounted_purchases(
            BgNbd(*PARAMS),
            5.0,
            np.zeros(1),
            np.zeros(1),
            np.ones(1),
            discount_rate=-1.0,
            period=1.0,
        )


@needs_cdnow
def test_clv_is_margin_times_spend_times_discounted_purchases(
    cdnow_sample: CustomerSummary,
) -> None:
    models = fit_models(cdnow_sample)
    plain = predict_arrays(models, cdnow_sample, horizon=39.0)
    assert plain["clv"] == pytest.approx(plain["expected_orders"] * plain["expected_spend"])
    discounted = predict_arrays(models, cdnow_sample, horizon=39.0, discount_rate=0.01, margin=0.3)
    assert np.all(discounted["clv"] < 0.3 * plain["clv"] + 1e-12)
    assert np.all(discounted["clv"] > 0.3 * plain["clv"] / 1.01**9)  # 39 weeks < 9 months


@needs_cdnow
def test_predictions_follow_the_as_of_date(cdnow_sample: CustomerSummary) -> None:
    assert cdnow_sample.as_of == date(1997, 9, 30)
    models = fit_models(cdnow_sample, spend=False)
    out = predict_arrays(models, cdnow_sample, horizon=39.0, wanted=("p_alive",))
    assert set(out) == {"p_alive"}
    # customers without repeat purchases cannot have dropped out under BG/NBD
    assert np.all(out["p_alive"][cdnow_sample.x == 0] == 1.0)
