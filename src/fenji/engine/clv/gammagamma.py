"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and Customer
Base Analysis"; Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").

A customer's purchase values are Gamma(p, nu) with her own scale nu, and nu is Gamma(q, gamma)
across customers; her mean purchase value is then p / nu. What is observed is the mean value
``zbar`` of her x repeat purchases, which is Gamma(p x, nu x); integrating nu out gives the
likelihood below. Only customers with at least one repeat purchase and a positive mean carry
information: the first purchase is left out by convention (it is often atypical and, for
BG/NBD, not a repeat purchase), and a zero mean has no density under a Gamma distribution.

The model assumes spend and purchase frequency are independent across customers;
:func:`spend_frequency_correlation` reports the correlation that checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from fenji.engine.clv.errors import DegenerateDataError, PredictionError, TooFewCustomersError
from fenji.engine.clv.fitting import Fit, FloatArray, Objective, dot, maximize

MODEL = "gamma_gamma"
NAMES = ("p", "q", "gamma")

#: Fewer customers with repeat purchases than this and the three parameters are mostly noise.
MIN_REPEATERS = 10


@dataclass(frozen=True)
class GammaGamma:
    """Fitted (or given) Gamma-Gamma parameters; gamma is in money units."""

    p: float
    q: float
    gamma: float

    @classmethod
    def from_fit(cls, fit: Fit) -> GammaGamma:
        return cls(fit["p"], fit["q"], fit["gamma"])

    @property
    def mean_spend(self) -> float:
        """The population's mean spend per purchase, p gamma / (q - 1); infinite for q <= 1."""
        if self.q <= 1:
            raise PredictionError(
                "clv.bad_parameters",
                f"q = {self.q:.4g} <= 1: the fitted spend distribution has no mean, so customers "
                "without repeat purchases get no expected spend; a few extreme spend values "
                "usually cause this — check for amounts in the wrong unit",
                model=MODEL,
            )
        return self.p * self.gamma / (self.q - 1)


def usable(x: npt.ArrayLike, monetary: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """The customers the spend model is fitted on: a repeat purchase and a positive mean."""
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(monetary, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out: npt.NDArray[np.bool_] = (xs > 0) & np.isfinite(ms) & (ms > 0)
    return out


def loglik(params: GammaGamma, x: npt.ArrayLike, monetary: npt.ArrayLike) -> FloatArray:
    """Each customer's log-density of the mean repeat purchase value (x > 0, monetary > 0)."""
    p, q, g = params.p, params.q, params.gamma
    xs = np.asarray(x, dtype=np.float64)
    zs = np.asarray(monetary, dtype=np.float64)
    px = p * xs
    out: FloatArray = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(zs)
        + px * np.log(xs)
        - (px + q) * np.log(xs * zs + g)
    )
    return out


def objective(x: FloatArray, monetary: FloatArray, weights: FloatArray) -> Objective:
    """Mean negative log-likelihood and its analytic gradient in the log-parameters.

    The Gamma function terms depend on a customer only through x, so they are evaluated once
    per distinct x; the terms in log zbar and log x do not depend on the parameters beyond a
    factor p and are summed once. Per customer and evaluation only log(x zbar + gamma)
    remains. The result equals the mean of :func:`loglik` (tests check it)."""
    w = weights / float(weights.sum())
    values, where = np.unique(x, return_inverse=True)
    per_x = np.asarray(
        np.bincount(where.reshape(-1), weights=w, minlength=values.size), dtype=np.float64
    )
    log_z = np.log(monetary)
    mean_log_z = dot(w, log_z)
    mean_x_log_xz = dot(w, x * (log_z + np.log(x)))
    xz = x * monetary

    def f(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, g = np.exp(theta)
        pk = p * values
        log_xzg = np.log(xz + g)
        w_log_xzg = w * log_xzg
        ll = (
            dot(per_x, special.gammaln(pk + q) - special.gammaln(pk))
            - float(special.gammaln(q))
            + q * np.log(g)
            + p * mean_x_log_xz
            - mean_log_z
            - p * dot(w_log_xzg, x)
            - q * float(w_log_xzg.sum())
        )
        psi_pkq = special.digamma(pk + q)
        g_p = (
            dot(per_x, values * (psi_pkq - special.digamma(pk))) + mean_x_log_xz - dot(w_log_xzg, x)
        )
        g_q = dot(per_x, psi_pkq) - float(special.digamma(q)) + np.log(g) - float(w_log_xzg.sum())
        inv = w / (xz + g)
        g_g = q / g - p * dot(inv, x) - q * float(inv.sum())
        grad = np.array([p * g_p, q * g_q, g * g_g])
        return -float(ll), -grad

    return f


def fit(x: npt.ArrayLike, monetary: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> Fit:
    """Fit the spend model on the customers with a repeat purchase and a positive mean value
    (others are ignored); ``weights`` count customers per row.

    Raises :class:`TooFewCustomersError` with fewer than :data:`MIN_REPEATERS` such customers,
    :class:`DegenerateDataError` when their mean values are all equal (the spread across
    customers is what the model estimates)."""
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(monetary, dtype=np.float64)
    ws = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=np.float64)
    use = usable(xs, ms)
    xs, ms, ws = xs[use], ms[use], ws[use]
    n = round(float(ws.sum()))
    if n < MIN_REPEATERS:
        raise TooFewCustomersError(
            "clv.too_few_repeaters",
            f"{n} customer(s) with a repeat purchase of positive value; the spend model needs "
            f"at least {MIN_REPEATERS}: use a longer history (a later as-of date) or a larger "
            "population",
            model=MODEL,
        )
    if float(ms.max()) == float(ms.min()):
        raise DegenerateDataError(
            "clv.degenerate_data",
            f"every customer's mean repeat purchase value is {float(ms[0]):g}: with no spread "
            "between customers the spend model has nothing to estimate; use the mean value "
            "directly instead",
            model=MODEL,
        )
    mean = float(ws @ ms) / float(ws.sum())
    starts = [(1.0, 2.0, mean), (5.0, 3.0, 3.0 * mean), (1.0, 1.0, 1.0)]
    return maximize(MODEL, NAMES, objective(xs, ms, ws), starts, n)


def expected_spend(params: GammaGamma, x: npt.ArrayLike, monetary: npt.ArrayLike) -> FloatArray:
    """E[mean spend per purchase | x, zbar] = (gamma + x zbar) p / (p x + q - 1): a weighted
    mean of the population mean and the customer's own mean, her weight growing with x.

    Customers without repeat purchases (x = 0, their zbar ignored) get the population mean."""
    xs = np.asarray(x, dtype=np.float64)
    zs = np.where(xs > 0, np.nan_to_num(np.asarray(monetary, dtype=np.float64)), 0.0)
    params.mean_spend  # noqa: B018 -- raises when q <= 1, where the formula has no meaning
    out: FloatArray = (params.gamma + xs * zs) * params.p / (params.p * xs + params.q - 1)
    if not np.all(np.isfinite(out)):
        raise PredictionError(
            "clv.bad_prediction",
            "expected spend is not finite for some customers; check the spend values for "
            "infinite or missing amounts",
            model=MODEL,
        )
    return out


def spend_frequency_correlation(x: npt.ArrayLike, monetary: npt.ArrayLike) -> float | None:
    """Pearson correlation between repeat purchases and mean spend among the customers the
    model uses; near 0 supports the model's independence assumption (None if undefined)."""
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(monetary, dtype=np.float64)
    use = usable(xs, ms)
    if int(use.sum()) < 3 or np.ptp(xs[use]) == 0 or np.ptp(ms[use]) == 0:
        return None
    return float(np.corrcoef(xs[use], ms[use])[0, 1])


__all__ = [
    "MODEL",
    "NAMES",
    "GammaGamma",
    "expected_spend",
    "fit",
    "loglik",
    "objective",
    "spend_frequency_correlation",
    "usable",
]
