"""Validation against the published CDNOW results (Fader, Hardie & Lee 2005).

The summary is computed by the engine from the raw transactions (CDNOW_sample.txt) and must
equal the authors' own summary file; the models fitted on it must match the published
estimates within 1%: BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (all 2,357
customers, weeks, calibration ending 1997-09-30), and Gamma-Gamma p = 6.25, q = 3.74,
gamma = 15.44 (the 946 customers with a repeat purchase, on the mean value of their repeat
purchases).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from fenji.engine.clv import diagnostics
from fenji.engine.clv.models import fit_models, predict
from fenji.engine.clv.summary import CustomerSummary

from .conftest import cdnow_dir, needs_cdnow

pytestmark = needs_cdnow

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
#: FHL 2005 report the maximised BG/NBD log-likelihood on this sample as -9582.4.
PUBLISHED_LOGLIK = -9582.4


def test_summary_equals_the_authors_summary_file(cdnow_sample: CustomerSummary) -> None:
    with (cdnow_dir() / "cdnow_customers_summary_with_transactions.csv").open() as fh:
        published = {int(r["ID"]): r for r in csv.DictReader(fh)}
    # the authors' file is keyed by the sample id, the second column of the transactions
    with (cdnow_dir() / "CDNOW_sample.txt").open() as fh:
        sample_id = {line.split()[0]: int(line.split()[1]) for line in fh if line.strip()}
    ids = cdnow_sample.customer_id.to_pylist()
    assert len(published) == len(ids) == 2357
    rows = [published[sample_id[c]] for c in ids]
    assert [int(r["x"]) for r in rows] == cdnow_sample.x.tolist()
    assert np.round(cdnow_sample.t_x, 2) == pytest.approx([float(r["t_x"]) for r in rows])
    assert np.round(cdnow_sample.T, 2) == pytest.approx([float(r["T"]) for r in rows])
    zbar = np.nan_to_num(cdnow_sample.monetary)
    assert zbar == pytest.approx([float(r["zbar"]) for r in rows], abs=0.005 + 1e-9)


def test_fitted_parameters_match_the_published_estimates(cdnow_sample: CustomerSummary) -> None:
    models = fit_models(cdnow_sample)
    for name, value in PUBLISHED_BGNBD.items():
        assert models.bgnbd[name] == pytest.approx(value, rel=0.01), name
    assert models.gamma_gamma is not None
    assert models.gamma_gamma.n == 946
    for name, value in PUBLISHED_GAMMA_GAMMA.items():
        assert models.gamma_gamma[name] == pytest.approx(value, rel=0.01), name
    assert models.bgnbd.loglik == pytest.approx(PUBLISHED_LOGLIK, abs=0.05)


def test_standard_errors_are_those_of_the_observed_information(
    cdnow_sample: CustomerSummary,
) -> None:
    # the delta-method standard errors equal sqrt(diag(inverse Hessian)) taken directly in the
    # natural parameters (the gradient vanishes at the optimum, so the two agree)
    from fenji.engine.clv import bgnbd

    models = fit_models(cdnow_sample, spend=False)
    g = cdnow_sample.grouped()
    values = np.array(models.bgnbd.values)

    def nll(v: np.ndarray) -> float:
        return -float(g.weights @ bgnbd.loglik(bgnbd.BgNbd(*v), g.x, g.t_x, g.T))

    h = 1e-4 * values
    hess = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            hess[i, j] = (
                nll(values + ei + ej)
                - nll(values + ei - ej)
                - nll(values - ei + ej)
                + nll(values - ei - ej)
            ) / (4 * h[i] * h[j])
    direct = np.sqrt(np.diag(np.linalg.inv(hess)))
    got = [models.bgnbd.se(n) for n in bgnbd.NAMES]
    assert got == pytest.approx(direct, rel=2e-3)


def test_calibration_histogram_accounts_for_every_customer(cdnow_sample: CustomerSummary) -> None:
    models = fit_models(cdnow_sample, spend=False)
    hist = diagnostics.calibration_histogram(models.purchases, cdnow_sample)
    assert sum(hist.actual) == len(cdnow_sample)
    assert sum(hist.expected) == pytest.approx(len(cdnow_sample))
    assert hist.actual[0] == int((cdnow_sample.x == 0).sum())
    # the model describes the calibration counts well (FHL 2005, Figure 1)
    assert hist.p_value is not None
    assert hist.p_value > 0.05


def test_holdout_table_adds_up_and_tracks_the_actual_purchases(
    cdnow_sample: CustomerSummary,
) -> None:
    models = fit_models(cdnow_sample, spend=False)
    result = diagnostics.holdout(models.purchases, cdnow_sample)
    assert result.length == 39.0
    assert sum(r.customers for r in result.rows) == 2357
    assert sum(r.actual_total for r in result.rows) == result.actual_total
    assert cdnow_sample.holdout_x is not None
    assert result.actual_total == int(cdnow_sample.holdout_x.sum())
    assert sum(r.expected_total for r in result.rows) == pytest.approx(result.expected_total)
    # more calibration purchases, more expected holdout purchases (FHL 2005, Figure 4)
    means = [r.expected_mean for r in result.rows]
    assert means == sorted(means)
    assert result.expected_total == pytest.approx(result.actual_total, rel=0.2)


def test_predictions_cover_every_customer_without_gaps(cdnow_sample: CustomerSummary) -> None:
    models = fit_models(cdnow_sample)
    table = predict(models, cdnow_sample, horizon=39.0, discount_rate=0.01)
    assert table.num_rows == 2357
    for name in ("p_alive", "expected_orders", "expected_spend", "clv"):
        values = table.column(name).to_numpy()
        assert np.all(np.isfinite(values)), name
        assert np.all(values >= 0), name
    assert np.all(table.column("p_alive").to_numpy() <= 1)
    assert table.column("monetary").null_count == int((cdnow_sample.x == 0).sum())
