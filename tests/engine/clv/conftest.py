"""The CDNOW data set (shared/data/cdnow), beside the repository or at FENJI_CDNOW_DIR."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from fenji.engine.clv.summary import CustomerSummary, summarize_orders
from fenji.io.cdnow import read_cdnow

ROOT = Path(__file__).resolve().parents[3]
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


def cdnow_dir() -> Path:
    env = os.environ.get("FENJI_CDNOW_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data" / "cdnow"


needs_cdnow = pytest.mark.skipif(
    not (cdnow_dir() / "CDNOW_sample.txt").is_file(),
    reason=f"CDNOW data not found at {cdnow_dir()}",
)


@pytest.fixture(scope="session")
def cdnow_sample() -> CustomerSummary:
    """The 1/10 sample summarised in weeks at the end of the 39-week calibration period, with
    the 39-week holdout counted."""
    orders = read_cdnow(cdnow_dir() / "CDNOW_sample.txt")
    return summarize_orders(orders, CALIBRATION_END, time_unit="week", holdout_end=HOLDOUT_END)
