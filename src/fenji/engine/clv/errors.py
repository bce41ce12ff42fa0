"""Why a lifetime-value model could not be fitted or used, as named errors with stable codes.

A model that cannot be fitted must stop the run with a message a person can act on: a column of
NaN probabilities would be graded into the "missing" band and look like data. Every error says
what was wrong (with the figures that show it) and what to do, and carries a stable ``code``
for the UI and API, like :class:`fenji.io.errors.DataError` does for input files.
"""

from __future__ import annotations

from typing import Literal

ModelErrorCode = Literal[
    "clv.no_customers",
    "clv.too_few_repeaters",
    "clv.degenerate_data",
    "clv.no_convergence",
    "clv.not_identified",
    "clv.bad_parameters",
    "clv.bad_prediction",
    "clv.bad_argument",
]


class ModelError(ValueError):
    """A lifetime-value model could not be fitted, or its predictions could not be computed.

    A ``ValueError`` so that callers that already turn bad input into a message (the CLI, the
    web views) show it without knowing the models."""

    def __init__(self, code: ModelErrorCode, message: str, *, model: str | None = None) -> None:
        self.code: ModelErrorCode = code
        self.model = model
        self.message = message
        super().__init__(f"{model}: {message}" if model else message)


class TooFewCustomersError(ModelError):
    """Too few customers, or too few with repeat purchases, for the model's parameters to be
    estimated; the fix is more history (an earlier first date or a later as-of date)."""


class DegenerateDataError(ModelError):
    """The data cannot identify the model: nobody bought twice, every spend value is equal,
    every customer was observed for no time at all."""


class FitFailedError(ModelError):
    """The optimiser did not reach a proper maximum of the likelihood: it stopped early, a
    parameter ran off to zero or infinity, or the curvature at the optimum is not that of a
    maximum (so there are no standard errors to report)."""


class PredictionError(ModelError):
    """A prediction could not be computed for some customers (a non-finite value), or the
    fitted parameters imply an infinite quantity (a Gamma-Gamma ``q`` at or below 1 has no
    mean spend)."""


__all__ = [
    "DegenerateDataError",
    "FitFailedError",
    "ModelError",
    "ModelErrorCode",
    "PredictionError",
    "TooFewCustomersError",
]
