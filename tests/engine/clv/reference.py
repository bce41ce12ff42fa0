"""Independent reference values for the lifetime-value models, by numerical integration.

The production code uses the closed forms of the papers (Beta functions, a Gauss
hypergeometric function after Euler's transformation). Here every quantity is computed from the
model's *definition* instead: the individual-level likelihood of a customer with purchase rate
lambda and dropout probability p (or spend scale nu), integrated against the mixing
distributions — over lambda with the elementary Gamma-Poisson integral, over p (and nu) by
mpmath's adaptive quadrature. No Beta-function identity or hypergeometric function is used, so
agreement of the two routes checks the algebra, the transformations and the numerics at once.
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath as mp

mp.mp.dps = 18


def _over_p(a: float, b: float, h: Callable[[mp.mpf], mp.mpf]) -> mp.mpf:
    """E[h(p)] under p ~ Beta(a, b). With a < 1 the density is infinite at 0, which quadrature
    handles poorly; p = v^(1/a) absorbs that factor exactly (p^(a-1) dp = dv / a)."""
    aa, bb = mp.mpf(a), mp.mpf(b)

    def integrand(v: mp.mpf) -> mp.mpf:
        p = v ** (1 / aa)
        return h(p) * (1 - p) ** (bb - 1)

    return mp.quad(integrand, [0, 0.25, 0.5, 0.75, 1]) / (aa * mp.beta(aa, bb))


def _poisson_gamma(r: float, alpha: float, x: int, s: mp.mpf) -> mp.mpf:
    """E[lambda^x exp(-lambda s)] under lambda ~ Gamma(r, alpha): the elementary
    Gamma-Poisson integral Gamma(r+x)/Gamma(r) alpha^r / (alpha+s)^(r+x)."""
    rr, al = mp.mpf(r), mp.mpf(alpha)
    return mp.gamma(rr + x) / mp.gamma(rr) * al**rr / (al + s) ** (rr + x)


Params = tuple[float, float, float, float]


def _likelihood(params: Params, x: int, t_x: float, T: float) -> Callable[[mp.mpf], mp.mpf]:
    """L(x, t_x, T | p) with lambda integrated out (FHL 2005, eqs. 3-4 under the Gamma)."""
    r, alpha, _, _ = params

    def total(p: mp.mpf) -> mp.mpf:
        out = (1 - p) ** x * _poisson_gamma(r, alpha, x, mp.mpf(T))
        if x > 0:
            out += p * (1 - p) ** (x - 1) * _poisson_gamma(r, alpha, x, mp.mpf(t_x))
        return out

    return total


def _alive(params: Params, x: int, T: float) -> Callable[[mp.mpf], mp.mpf]:
    r, alpha, _, _ = params
    return lambda p: (1 - p) ** x * _poisson_gamma(r, alpha, x, mp.mpf(T))


def bgnbd_loglik(params: Params, x: int, t_x: float, T: float) -> float:
    return float(mp.log(_over_p(params[2], params[3], _likelihood(params, x, t_x, T))))


def bgnbd_p_alive(params: Params, x: int, t_x: float, T: float) -> float:
    a, b = params[2], params[3]
    alive = _over_p(a, b, _alive(params, x, T))
    return float(alive / _over_p(a, b, _likelihood(params, x, t_x, T)))


def bgnbd_conditional_expected(params: Params, t: float, x: int, t_x: float, T: float) -> float:
    """E[Y(t) | data]: a customer alive at T with rate lambda and dropout p makes
    (1 - exp(-lambda p t)) / p purchases in (T, T+t] in expectation (a geometric number of
    purchases before dropout, at Poisson rate lambda); weighted by the posterior of
    (lambda, p, alive). Over lambda, (1 - exp(-lambda p t)) exp(-lambda T) splits into two
    Gamma-Poisson integrals."""
    r, alpha, a, b = params

    def future(p: mp.mpf) -> mp.mpf:
        now = _poisson_gamma(r, alpha, x, mp.mpf(T))
        later = _poisson_gamma(r, alpha, x, mp.mpf(T) + p * t)
        return (1 - p) ** x * (now - later) / p

    return float(_over_p(a, b, future) / _over_p(a, b, _likelihood(params, x, t_x, T)))


def bgnbd_expected(params: Params, t: float) -> float:
    """E[X(t)] for a new customer: (1 - E[exp(-lambda p t)]) / p under the prior."""
    r, alpha, a, b = params
    al = mp.mpf(alpha)
    return float(_over_p(a, b, lambda p: (1 - (al / (al + p * t)) ** r) / p))


def _gg_density(p: float, q: float, gamma: float, x: int, zbar: float) -> Callable[..., mp.mpf]:
    """Density of the mean of x Gamma(p, nu) values, times the Gamma(q, gamma) density of nu."""
    pp, qq, gg, zz = map(mp.mpf, (p, q, gamma, zbar))

    def joint(nu: mp.mpf) -> mp.mpf:
        mean = (x * nu) ** (pp * x) * zz ** (pp * x - 1) * mp.exp(-x * nu * zz) / mp.gamma(pp * x)
        prior = gg**qq * nu ** (qq - 1) * mp.exp(-gg * nu) / mp.gamma(qq)
        return mean * prior

    return joint


def gamma_gamma_loglik(params: tuple[float, float, float], x: int, zbar: float) -> float:
    joint = _gg_density(*params, x, zbar)
    return float(mp.log(mp.quad(joint, [0, 0.01, 0.1, 1, mp.inf])))


def gamma_gamma_expected_spend(params: tuple[float, float, float], x: int, zbar: float) -> float:
    """E[p / nu | zbar]: the customer's mean purchase value under the posterior of nu."""
    joint = _gg_density(*params, x, zbar)
    p = mp.mpf(params[0])
    grid = [0, 0.01, 0.1, 1, mp.inf]
    return float(mp.quad(lambda nu: p / nu * joint(nu), grid) / mp.quad(joint, grid))
