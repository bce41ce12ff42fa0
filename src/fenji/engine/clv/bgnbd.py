"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting Your Customers the
Easy Way"): likelihood, maximum-likelihood fit, P(alive) and expected purchases.

While alive, a customer buys at Poisson rate lambda (Gamma(r, alpha) across customers); after
each purchase she drops out with probability p (Beta(a, b) across customers). A customer is
summarised by (x, t_x, T): repeat purchases, time of the last one and time observed, both from
the first purchase (see :mod:`fenji.engine.clv.summary`).

Numerics. Everything is computed in logs with ``gammaln``/``betaln``; the two-term likelihood
``A + d * B`` is ``A * (1 + exp(D))`` with ``D = log(B / A)``, so it is a softplus of D and
its derivative a logistic weight, and never overflows for customers with hundreds of purchases.
The conditional expectation's Gauss hypergeometric function is used after Euler's
transformation, ``(1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)``
with ``c = a+b+x-1``: the numerator parameters no longer grow with x, so the series converges
fast and the product no longer multiplies a huge 2F1 by a tiny power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from fenji.engine.clv.errors import DegenerateDataError, PredictionError, TooFewCustomersError
from fenji.engine.clv.fitting import Fit, FloatArray, Objective, dot, maximize, softplus

MODEL = "bgnbd"
NAMES = ("r", "alpha", "a", "b")

#: Below these counts the four parameters are mostly noise: the fit refuses to run.
MIN_CUSTOMERS = 20
MIN_REPEATERS = 10

ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class BgNbd:
    """Fitted (or given) BG/NBD parameters; rates are per time unit of the summary."""

    r: float
    alpha: float
    a: float
    b: float

    @classmethod
    def from_fit(cls, fit: Fit) -> BgNbd:
        return cls(fit["r"], fit["alpha"], fit["a"], fit["b"])


def _arrays(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    xs = np.asarray(x, dtype=np.float64)
    return xs, np.asarray(t_x, dtype=np.float64), np.asarray(T, dtype=np.float64)


def _log_odds_dead(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """D = log of (dropped out after the last purchase) / (still alive), given the data;
    -inf for customers without repeat purchases, who cannot have dropped out."""
    buyer = x > 0
    xb = np.where(buyer, x, 1.0)
    d = (
        np.log(a)
        - np.log(b + xb - 1)
        + (r + xb) * (np.log(alpha + T) - np.log(alpha + np.where(buyer, t_x, T)))
    )
    return np.where(buyer, d, -np.inf)


def loglik(params: BgNbd, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Each customer's log-likelihood (FHL 2005, eq. 6, in logs)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    xs, tx, tt = _arrays(x, t_x, T)
    d = _log_odds_dead(r, alpha, a, b, xs, tx, tt)
    out: FloatArray = (
        special.gammaln(r + xs)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + xs)
        - special.betaln(a, b)
        - (r + xs) * np.log(alpha + tt)
        + np.logaddexp(0.0, d)
    )
    return out


def _rising(c: float, top: int) -> tuple[FloatArray, FloatArray]:
    """log Gamma(c + k) - log Gamma(c) and digamma(c + k) - digamma(c) for k = 0 .. top, as
    running sums of log(c + j) and 1 / (c + j): exact for whole k, and a few hundred additions
    instead of a special function per customer."""
    j = c + np.arange(top, dtype=np.float64)
    logs = np.concatenate(([0.0], np.cumsum(np.log(j))))
    recips = np.concatenate(([0.0], np.cumsum(1.0 / j)))
    return logs, recips


def objective(x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray) -> Objective:
    """Mean negative log-likelihood over customers (weighted by ``weights``, the number of
    customers sharing each (x, t_x, T)) and its analytic gradient in the log-parameters.

    The Gamma and Beta function terms depend on a customer only through her whole number of
    repeat purchases x, so they are evaluated once per value of x (by :func:`_rising`) and
    weighted by how many customers have it; per customer only the logarithms of alpha + T and
    alpha + t_x and the dead-or-alive weight remain. The result equals the mean of
    :func:`loglik` (tests check it) at a fraction of the cost on a million customers."""
    total = float(weights.sum())
    w = weights / total
    k = x.astype(np.int64)
    top = int(k.max(initial=0))
    # share of customers with each x
    per_x = np.asarray(np.bincount(k, weights=w, minlength=top + 1), dtype=np.float64)
    buyer = x > 0
    wb = np.where(buyer, w, 0.0)
    xb = np.where(buyer, x, 1.0)
    tx = np.where(buyer, t_x, T)

    def f(theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(theta)
        log_r, rec_r = _rising(r, top)
        log_b, rec_b = _rising(b, top)
        log_ab, rec_ab = _rising(a + b, top)
        log_at = np.log(alpha + T)
        log_atx = np.log(alpha + tx)
        gap = log_at - log_atx
        # D below -50 adds under 2e-22 to a log-likelihood: clipping it changes nothing, and
        # keeps exp(D) out of the subnormal range, where floating-point arithmetic is slow.
        d = np.maximum(np.log(a) - np.log(b + xb - 1) + (r + xb) * gap, -50.0)
        p_dead = np.where(buyer, special.expit(d), 0.0)
        wd = w * p_dead
        mean_log_at = dot(w, log_at)
        ll = (
            dot(per_x, log_r + log_b - log_ab)
            + r * np.log(alpha)
            - r * mean_log_at
            - dot(w * x, log_at)
            + dot(wb, softplus(d))
        )
        g_r = dot(per_x, rec_r) + np.log(alpha) - mean_log_at + dot(wd, gap)
        g_alpha = (
            r / alpha
            - dot(w, (r + x) / (alpha + T))
            + dot(wd, (r + x) * (1 / (alpha + T) - 1 / (alpha + tx)))
        )
        g_a = -dot(per_x, rec_ab) + float(wd.sum()) / a
        g_b = dot(per_x, rec_b - rec_ab) - dot(wd, 1 / (b + xb - 1))
        grad = np.array([r * g_r, alpha * g_alpha, a * g_a, b * g_b])
        return -float(ll), -grad

    return f


def fit(x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None) -> Fit:
    """Fit BG/NBD by maximum likelihood; ``weights`` count the customers of each row.

    Raises :class:`TooFewCustomersError` or :class:`DegenerateDataError` when the data cannot
    support the model, and :class:`~fenji.engine.clv.errors.FitFailedError` when the optimiser
    does not reach a proper maximum."""
    xs, tx, tt = _arrays(x, t_x, T)
    w = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=np.float64)
    n = round(float(w.sum()))
    if n == 0:
        raise TooFewCustomersError(
            "clv.no_customers",
            "no customer has a purchase on or before the as-of date; check the as-of date and "
            "that the orders table is the right one",
            model=MODEL,
        )
    repeaters = round(float(w[xs > 0].sum()))
    if n < MIN_CUSTOMERS or repeaters < MIN_REPEATERS:
        raise TooFewCustomersError(
            "clv.too_few_repeaters",
            f"{n} customer(s), {repeaters} of them with a repeat purchase; the model needs at "
            f"least {MIN_CUSTOMERS} customers and {MIN_REPEATERS} with repeat purchases: use "
            "a longer history (a later as-of date) or a larger population",
            model=MODEL,
        )
    if float(w @ tt) <= 0:
        raise DegenerateDataError(
            "clv.degenerate_data",
            "every customer made the first purchase on the as-of date, so no time was observed "
            "(T = 0 for all); choose a later as-of date",
            model=MODEL,
        )
    if np.any(tx > tt) or np.any(tx < 0) or np.any(xs < 0) or np.any(xs != np.round(xs)):
        raise DegenerateDataError(
            "clv.degenerate_data",
            "the summary is inconsistent (a last purchase after the as-of date, negative or "
            "fractional counts); compute it with fenji.engine.clv.summary",
            model=MODEL,
        )
    # Start where the purchase rate matches the data (r / alpha = mean repeat rate) and half of
    # the customers drop out; a second start at the literature's customary ones.
    rate = max(float(w @ xs) / max(float(w @ tt), 1e-12), 1e-6)
    starts = [(1.0, 1.0 / rate, 1.0, 1.0), (0.5, 0.5 / rate, 0.8, 2.5), (1.0, 1.0, 1.0, 1.0)]
    return maximize(MODEL, NAMES, objective(xs, tx, tt, w), starts, n)


def p_alive(params: BgNbd, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(still alive at T | x, t_x, T) (Fader, Hardie & Lee 2008, "Computing P(alive) using
    the BG/NBD model"): 1 for customers without repeat purchases, who by the model cannot have
    dropped out (dropping out happens only right after a purchase)."""
    xs, tx, tt = _arrays(x, t_x, T)
    d = _log_odds_dead(params.r, params.alpha, params.a, params.b, xs, tx, tt)
    out: FloatArray = special.expit(-d)
    return out


def _growth(params: BgNbd, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
    """(a+b+x-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)], z = t/(alpha+T+t):
    the expected purchases over t of a customer alive at T, before weighting by P(alive)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1) < 1e-9:
        # 0/0 at a = 1 exactly; the expression is smooth in a, so the mean of its values a
        # hair either side is its limit to about 1e-12.
        lo = _growth(BgNbd(r, alpha, 1 - 1e-6, b), t, x, T)
        hi = _growth(BgNbd(r, alpha, 1 + 1e-6, b), t, x, T)
        out: FloatArray = (lo + hi) / 2
        return out
    z = t / (alpha + T + t)
    log_1mz = np.log(alpha + T) - np.log(alpha + T + t)
    h = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    bracket = -(np.expm1((a - 1) * log_1mz) + np.exp((a - 1) * log_1mz) * (h - 1))
    out = (a + b + x - 1) / (a - 1) * bracket
    return out


def conditional_expected(
    params: BgNbd, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10).

    Raises :class:`PredictionError` if any value is not finite (it should not happen for
    fitted parameters; it is checked so that a NaN can never reach a grade)."""
    xs, tx, tt = _arrays(x, t_x, T)
    ts = np.asarray(t, dtype=np.float64)
    with np.errstate(all="ignore"):
        out: FloatArray = _growth(params, ts, xs, tt) * p_alive(params, xs, tx, tt)
    _check_finite(out, "expected purchases", xs, tx, tt)
    return out


def expected(params: BgNbd, t: ArrayLike) -> FloatArray:
    """E[X(t)]: expected repeat purchases of a new customer within t of the first purchase
    (FHL 2005, eq. 9) — eq. 10 with x = t_x = T = 0."""
    ts = np.asarray(t, dtype=np.float64)
    zero = np.zeros_like(ts)
    with np.errstate(all="ignore"):
        out: FloatArray = _growth(params, ts, zero, zero)
    _check_finite(out, "expected purchases", zero, zero, ts)
    return out


def count_pmf(params: BgNbd, t: ArrayLike, k: int) -> FloatArray:
    """P(X(t) = k): the probability of exactly k repeat purchases within t of the first
    purchase (FHL 2005, eq. 8), for each t.

    The sum in the second term is a negative binomial distribution function, taken as a
    regularised incomplete beta: 1 - sum_{j<k} NB(j; r, alpha/(alpha+t)) = I_{t/(alpha+t)}(k, r).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ts = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_p = np.log(alpha) - np.log(alpha + ts)
        log_q = np.log(ts) - np.log(alpha + ts)
    first = (
        special.betaln(a, b + k)
        - special.betaln(a, b)
        + special.gammaln(r + k)
        - special.gammaln(r)
        - special.gammaln(k + 1)
        + r * log_p
        + (k * log_q if k > 0 else 0.0)
    )
    out: FloatArray = np.exp(first)
    if k > 0:
        weight = np.exp(special.betaln(a + 1, b + k - 1) - special.betaln(a, b))
        out = out + weight * special.betainc(k, r, np.exp(log_q))
    return out


def _check_finite(
    values: FloatArray, what: str, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> None:
    bad = ~np.isfinite(values)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        xb, txb, tb = np.broadcast_arrays(x, t_x, T)
        raise PredictionError(
            "clv.bad_prediction",
            f"{what} is not finite for {int(bad.sum())} customer(s), e.g. x={xb.flat[i]:g}, "
            f"t_x={txb.flat[i]:g}, T={tb.flat[i]:g}; the parameters may be extreme — check the "
            "fit, or use a coarser time unit",
            model=MODEL,
        )


__all__ = [
    "MODEL",
    "NAMES",
    "BgNbd",
    "conditional_expected",
    "count_pmf",
    "expected",
    "fit",
    "loglik",
    "objective",
    "p_alive",
]
