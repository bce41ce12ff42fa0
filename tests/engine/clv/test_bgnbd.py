"""BG/NBD: the closed forms against the model's definition, and the fit's behaviour.

Parity cases are small hand-built customers under three parameter sets: the CDNOW estimates
(r < 1 and a < 1: singular mixing densities), a smooth set, and a day-scale set. Reference
values integrate the individual-level model over the Gamma and Beta mixing distributions
(tests/engine/clv/reference.py), a different route from the production formulas.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from fenji.engine.clv import bgnbd
from fenji.engine.clv.bgnbd import BgNbd
from fenji.engine.clv.errors import DegenerateDataError, TooFewCustomersError

from . import reference

CDNOW = (0.243, 4.414, 0.793, 2.426)
SMOOTH = (1.5, 10.0, 1.8, 3.0)
DAYS = (0.6, 80.0, 1.2, 6.0)

CASES = [
    (CDNOW, 0, 0.0, 38.86),
    (CDNOW, 1, 1.71, 38.86),
    (CDNOW, 2, 30.43, 38.86),
    (CDNOW, 12, 35.0, 38.86),
    (SMOOTH, 0, 0.0, 20.0),
    (SMOOTH, 3, 5.0, 20.0),
    (SMOOTH, 7, 19.5, 20.0),
    (DAYS, 4, 120.0, 400.0),
]


@pytest.mark.parametrize(("params", "x", "t_x", "T"), CASES)
def test_likelihood_equals_the_integrated_individual_model(
    params: tuple[float, float, float, float], x: int, t_x: float, T: float
) -> None:
    got = bgnbd.loglik(BgNbd(*params), x, t_x, T)
    assert float(got) == pytest.approx(reference.bgnbd_loglik(params, x, t_x, T), abs=1e-6)


@pytest.mark.parametrize(("params", "x", "t_x", "T"), CASES)
def test_p_alive_equals_the_posterior_share_alive(
    params: tuple[float, float, float, float], x: int, t_x: float, T: float
) -> None:
    got = bgnbd.p_alive(BgNbd(*params), x, t_x, T)
    assert float(got) == pytest.approx(reference.bgnbd_p_alive(params, x, t_x, T), rel=1e-6)


@pytest.mark.parametrize(("params", "x", "t_x", "T"), CASES)
@pytest.mark.parametrize("t", [1.0, 39.0])
def test_conditional_expectation_equals_the_integrated_future_purchases(
    params: tuple[float, float, float, float], x: int, t_x: float, T: float, t: float
) -> None:
    got = bgnbd.conditional_expected(BgNbd(*params), t, x, t_x, T)
    want = reference.bgnbd_conditional_expected(params, t, x, t_x, T)
    assert float(got) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("params", [CDNOW, SMOOTH, DAYS])
def test_unconditional_expectation_equals_the_integrated_prior(
    params: tuple[float, float, float, float],
) -> None:
    got = bgnbd.expected(BgNbd(*params), [5.0, 52.0])
    want = [reference.bgnbd_expected(params, 5.0), reference.bgnbd_expected(params, 52.0)]
    assert got == pytest.approx(want, rel=1e-5)


def test_conditional_expectation_stays_exact_for_heavy_buyers() -> None:
    # given customers with hundreds of purchases, where the untransformed 2F1 is astronomically
    # large and multiplied by a tiny power
    params = BgNbd(*CDNOW)
    x = np.array([50, 200, 600])
    t_x, T, t = np.array([38.0, 38.5, 38.8]), np.full(3, 38.86), 39.0
    # when
    got = bgnbd.conditional_expected(params, t, x, t_x, T)
    # then it equals FHL eq. 10 evaluated as written, at 60 digits
    with mp.workdps(60):
        r, al, a, b = map(mp.mpf, CDNOW)
        for xi, txi, Ti, gi in zip(x, t_x, T, got, strict=True):
            xi, txi, Ti = int(xi), mp.mpf(txi), mp.mpf(Ti)
            z = t / (al + Ti + t)
            hyp = mp.hyp2f1(r + xi, b + xi, a + b + xi - 1, z)
            num = (a + b + xi - 1) / (a - 1) * (1 - ((al + Ti) / (al + Ti + t)) ** (r + xi) * hyp)
            den = 1 + a / (b + xi - 1) * ((al + Ti) / (al + txi)) ** (r + xi)
            assert float(gi) == pytest.approx(float(num / den), rel=1e-9)


def test_conditional_expectation_is_continuous_at_a_equal_one() -> None:
    # 0/0 in the closed form at a = 1 exactly: the limit matches its neighbours
    at_one = bgnbd.conditional_expected(BgNbd(0.3, 5.0, 1.0, 2.0), 20.0, 3, 10.0, 30.0)
    near = bgnbd.conditional_expected(BgNbd(0.3, 5.0, 1.0 + 1e-5, 2.0), 20.0, 3, 10.0, 30.0)
    assert np.isfinite(at_one)
    assert float(at_one) == pytest.approx(float(near), rel=1e-4)


@pytest.mark.parametrize("params", [CDNOW, SMOOTH])
def test_count_distribution_sums_to_one_and_has_the_expected_mean(
    params: tuple[float, float, float, float],
) -> None:
    model = BgNbd(*params)
    t = np.array([3.0, 38.86])
    pmf = np.array([bgnbd.count_pmf(model, t, k) for k in range(400)])
    assert pmf.sum(axis=0) == pytest.approx([1.0, 1.0], abs=1e-9)
    mean = (np.arange(400)[:, None] * pmf).sum(axis=0)
    assert mean == pytest.approx(bgnbd.expected(model, t), rel=1e-8)


def test_count_probability_matches_the_definition_at_zero() -> None:
    # P(X(t) = 0): no purchase at all in t, integrated over lambda (p plays no part)
    r, alpha = 0.8, 3.0
    want = (alpha / (alpha + 10.0)) ** r  # Gamma mixture of exp(-lambda t)
    assert float(bgnbd.count_pmf(BgNbd(r, alpha, 1.3, 2.0), 10.0, 0)) == pytest.approx(want)


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 9, 200).astype(float)
    T = rng.uniform(5, 40, 200)
    t_x = np.where(x > 0, rng.uniform(0, 1, 200) * T, 0.0)
    f = bgnbd.objective(x, t_x, T, np.ones(200))
    theta = np.log(np.array([0.4, 6.0, 0.9, 2.5]))
    _, grad = f(theta)
    h = 1e-6
    numeric = [(f(theta + h * e)[0] - f(theta - h * e)[0]) / (2 * h) for e in np.eye(4)]
    assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def simulate(
    params: tuple[float, float, float, float], n: int, seed: int
) -> tuple[np.ndarray, ...]:
    """Customers drawn from the BG/NBD process itself, observed for T in [20, 60)."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(20, 60, n)
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now[active] += rng.exponential(1 / lam[active])
        bought = active & (now <= T)
        x[bought] += 1
        t_x[bought] = now[bought]
        active = bought & (rng.uniform(size=n) >= p)
    return x, t_x, T


def test_fit_recovers_the_parameters_of_simulated_customers() -> None:
    truth = (0.5, 8.0, 0.8, 3.0)
    x, t_x, T = simulate(truth, 10_000, seed=7)
    fit = bgnbd.fit(x, t_x, T)
    for name, value in zip(bgnbd.NAMES, truth, strict=True):
        e = next(e for e in fit.estimates if e.name == name)
        assert abs(e.value - value) < 3.5 * e.se, (name, e.value, e.se)
        assert e.lower < e.value < e.upper


def test_grouped_rows_with_weights_fit_like_one_row_per_customer() -> None:
    x, t_x, T = simulate((0.5, 8.0, 0.8, 3.0), 3_000, seed=11)
    t_x, T = np.round(t_x), np.round(T)  # whole units, so histories repeat
    rows = np.stack([x, t_x, T], axis=1)
    uniq, counts = np.unique(rows, axis=0, return_counts=True)
    assert len(uniq) < len(rows)
    one = bgnbd.fit(x, t_x, T)
    grouped = bgnbd.fit(uniq[:, 0], uniq[:, 1], uniq[:, 2], counts)
    assert grouped.values == pytest.approx(one.values, rel=1e-5)
    assert grouped.loglik == pytest.approx(one.loglik, rel=1e-9)
    assert [e.se for e in grouped.estimates] == pytest.approx(
        [e.se for e in one.estimates], rel=1e-3
    )


def test_fit_refuses_too_few_repeat_customers() -> None:
    x = np.array([0] * 50 + [1] * 3)
    with pytest.raises(TooFewCustomersError, match="3 of them with a repeat purchase") as err:
        bgnbd.fit(x, np.where(x > 0, 2.0, 0.0), np.full(53, 10.0))
    assert err.value.code == "clv.too_few_repeaters"


def test_fit_refuses_no_customers() -> None:
    with pytest.raises(TooFewCustomersError) as err:
        bgnbd.fit([], [], [])
    assert err.value.code == "clv.no_customers"


def test_fit_refuses_a_population_observed_for_no_time() -> None:
    with pytest.raises(DegenerateDataError, match="T = 0"):
        bgnbd.fit(np.ones(30), np.zeros(30), np.zeros(30))


def test_fit_refuses_an_inconsistent_summary() -> None:
    x = np.ones(30)
    with pytest.raises(DegenerateDataError, match="inconsistent"):
        bgnbd.fit(x, np.full(30, 12.0), np.full(30, 10.0))


def test_predictions_are_never_silently_nan() -> None:
    from fenji.engine.clv.errors import PredictionError

    with pytest.raises(PredictionError, match="not finite"):
        bgnbd.conditional_expected(BgNbd(0.3, 5.0, 0.8, 2.0), 10.0, [1, 2], [1.0, np.nan], [5, 5])


def test_objective_is_the_mean_negative_log_likelihood() -> None:
    x, t_x, T = simulate((0.5, 8.0, 0.8, 3.0), 500, seed=2)
    weights = np.random.default_rng(0).integers(1, 5, 500).astype(float)
    theta = np.log([0.7, 5.0, 1.3, 2.2])
    value, _ = bgnbd.objective(x, t_x, T, weights)(theta)
    lls = bgnbd.loglik(BgNbd(*np.exp(theta)), x, t_x, T)
    assert value == pytest.approx(-float(weights @ lls) / weights.sum(), rel=1e-12)


def test_data_without_dropout_structure_is_a_named_failure() -> None:
    # purchases scattered uniformly over 300 days: nothing in the data says how customers drop
    # out, and the rate scale runs off
    from datetime import date

    from fenji.engine.clv.errors import FitFailedError
    from fenji.engine.clv.summary import summarize_orders

    from ..helpers import orders

    rng = np.random.default_rng(3)
    JAN1 = date(2026, 1, 1).toordinal()
    rows = [
        {"customer_id": f"C{i:02}", "order_date": date.fromordinal(JAN1 + int(d)), "amount": 10}
        for i in range(60)
        for d in sorted(set(rng.integers(0, 300, rng.integers(1, 6)).tolist()))
    ]
    s = summarize_orders(orders(rows), date(2026, 10, 31), time_unit="day")
    with pytest.raises(FitFailedError, match="do not pin them down") as err:
        bgnbd.fit(s.x, s.t_x, s.T)
    assert err.value.code == "clv.not_identified"
