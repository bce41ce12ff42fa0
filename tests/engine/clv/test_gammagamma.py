"""Gamma-Gamma: the closed forms against the model's definition, and the fit's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from fenji.engine.clv import gammagamma
from fenji.engine.clv.errors import DegenerateDataError, PredictionError, TooFewCustomersError
from fenji.engine.clv.gammagamma import GammaGamma

from . import reference

PARAMS = [(6.25, 3.74, 15.44), (1.2, 2.5, 300.0)]
CASES = [(1, 11.77), (2, 22.35), (7, 41.5), (30, 18.0)]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize(("x", "zbar"), CASES)
def test_likelihood_equals_the_integrated_individual_model(
    params: tuple[float, float, float], x: int, zbar: float
) -> None:
    got = float(gammagamma.loglik(GammaGamma(*params), x, zbar))
    assert got == pytest.approx(reference.gamma_gamma_loglik(params, x, zbar), abs=1e-8)


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize(("x", "zbar"), CASES)
def test_expected_spend_equals_the_posterior_mean(
    params: tuple[float, float, float], x: int, zbar: float
) -> None:
    got = float(gammagamma.expected_spend(GammaGamma(*params), x, zbar))
    want = reference.gamma_gamma_expected_spend(params, x, zbar)
    assert got == pytest.approx(want, rel=1e-9)


def test_customers_without_repeat_purchases_get_the_population_mean() -> None:
    model = GammaGamma(6.25, 3.74, 15.44)
    got = gammagamma.expected_spend(model, [0, 0], [np.nan, 99.0])
    assert got == pytest.approx([model.mean_spend] * 2)
    assert model.mean_spend == pytest.approx(6.25 * 15.44 / 2.74)


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(1, 12, 300).astype(float)
    z = rng.gamma(4.0, 10.0, 300)
    f = gammagamma.objective(x, z, np.ones(300))
    theta = np.log(np.array([3.0, 2.0, 20.0]))
    _, grad = f(theta)
    h = 1e-6
    numeric = [(f(theta + h * e)[0] - f(theta - h * e)[0]) / (2 * h) for e in np.eye(3)]
    assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_fit_recovers_the_parameters_of_simulated_customers() -> None:
    truth = (4.0, 3.0, 20.0)
    rng = np.random.default_rng(9)
    n = 4_000
    nu = rng.gamma(truth[1], 1 / truth[2], n)
    x = rng.integers(1, 10, n)
    zbar = np.array([rng.gamma(truth[0], 1 / v, k).mean() for v, k in zip(nu, x, strict=True)])
    fit = gammagamma.fit(x, zbar)
    for name, value in zip(gammagamma.NAMES, truth, strict=True):
        assert abs(fit[name] - value) < 3.5 * fit.se(name), (name, fit[name], fit.se(name))


def test_fit_uses_only_repeat_customers_with_positive_spend() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.integers(1, 6, 200), np.zeros(50), np.ones(5)])
    z = np.concatenate([rng.gamma(5.0, 4.0, 200), np.full(50, np.nan), np.zeros(5)])
    fit = gammagamma.fit(x, z)
    assert fit.n == 200


def test_fit_refuses_too_few_repeat_customers() -> None:
    with pytest.raises(TooFewCustomersError, match="4 customer") as err:
        gammagamma.fit([1, 2, 3, 1, 0, 0], [10.0, 12.0, 9.0, 11.0, np.nan, np.nan])
    assert err.value.code == "clv.too_few_repeaters"


def test_fit_refuses_spend_without_spread() -> None:
    with pytest.raises(DegenerateDataError, match="every customer's mean repeat purchase value"):
        gammagamma.fit(np.arange(1, 31), np.full(30, 25.0))


def test_a_spend_distribution_without_mean_cannot_predict() -> None:
    with pytest.raises(PredictionError, match="no mean") as err:
        gammagamma.expected_spend(GammaGamma(2.0, 0.9, 10.0), [0, 1], [np.nan, 5.0])
    assert err.value.code == "clv.bad_parameters"


def test_correlation_check_of_the_independence_assumption() -> None:
    x = np.array([1, 2, 3, 4, 5, 0])
    assert gammagamma.spend_frequency_correlation(x, [10, 20, 30, 40, 50, np.nan]) == (
        pytest.approx(1.0)
    )
    assert gammagamma.spend_frequency_correlation([1, 1], [3.0, 4.0]) is None


def test_objective_is_the_mean_negative_log_likelihood() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(1, 12, 300).astype(float)
    z = rng.gamma(4.0, 10.0, 300)
    weights = rng.integers(1, 4, 300).astype(float)
    theta = np.log([3.0, 2.0, 20.0])
    value, _ = gammagamma.objective(x, z, weights)(theta)
    lls = gammagamma.loglik(GammaGamma(*np.exp(theta)), x, z)
    assert value == pytest.approx(-float(weights @ lls) / weights.sum(), rel=1e-12)
