"""The model pre-pass: fit the lifetime-value models a policy's metrics use, and hand the
per-customer predictions back to the engine as tables.

A model metric (``{model: bgnbd, predict: p_alive, from: orders}``) has no SQL definition: its
value comes from models fitted on the whole population at the as-of date. So, like
natural-breaks cut points (:mod:`fenji.engine.prepass`), it is evaluated in two steps:

1. **SQL.** For each source and time unit the metrics use, one summary query
   (:func:`fenji.engine.clv.summary.summary_query`) returns x, t_x, T and the mean repeat spend
   of every customer with a purchase by the as-of date.
2. **Python.** BG/NBD (and Gamma-Gamma, when a metric needs spend) are fitted on all those
   customers, every metric of the group is predicted, and the predictions are registered as
   one table ``__fenji_model_<source>_<unit>`` (customer_id and one column per metric), which
   the compiled policy LEFT JOINs like an attribute table (:func:`fenji.engine.metrics.base_query`).

The fit uses every customer with a purchase, not the policy's ``population``: the population
may itself be defined with model metrics, and the models describe the whole customer base.
Customers without a purchase get no prediction (NULL, graded as missing). Predictions are
rounded to 9 decimals, like every computed value the engine compares with a bound, and enter
the engine as DECIMAL(38, 9).

The fitted parameters with their standard errors are returned keyed by table, to be kept with
the evaluation (:attr:`fenji.engine.evaluate.Evaluation.models`). A model that cannot be fitted
raises :class:`~fenji.engine.clv.errors.ModelError` naming the metrics that needed it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from fenji.engine.clv.errors import ModelError
from fenji.engine.clv.models import FittedModels, fit_models, predict_arrays
from fenji.engine.clv.summary import from_arrow, summary_query
from fenji.engine.clv.value import parse_horizon
from fenji.engine.dialects import DUCKDB, EngineDialect
from fenji.engine.metrics import MissingSourceError, model_table
from fenji.policy.models import Metric, Policy

if TYPE_CHECKING:
    from fenji.engine.clv.summary import TimeUnit

#: Runs one query on the engine and returns its result as Arrow.
RunArrow = Callable[[str], pa.Table]
#: Makes an Arrow table available to the engine's queries under a name.
Register = Callable[[str, pa.Table], None]

#: Decimals kept of each prediction, as for every computed value compared with a bound.
DIGITS = 9
#: Predictions enter the engine as exact decimals, like money: bounds, sums and summaries
#: then treat them as any other metric (and sum them exactly, in any order).
PREDICTION_TYPE = pa.decimal128(38, DIGITS)


def model_groups(policy: Policy) -> dict[str, dict[str, Metric]]:
    """The model metrics of ``policy`` by the table their predictions go to."""
    groups: dict[str, dict[str, Metric]] = {}
    for name, m in policy.metrics.items():
        if m.kind == "model":
            groups.setdefault(model_table(m), {})[name] = m
    return groups


def resolve_models(
    policy: Policy,
    as_of: date,
    tables: Mapping[str, set[str]],
    run: RunArrow,
    register: Register,
    *,
    dialect: EngineDialect = DUCKDB,
) -> tuple[dict[str, set[str]], dict[str, FittedModels]]:
    """Fit the models of ``policy``'s model metrics, register their predictions, and return
    the tables' columns (``tables`` plus the prediction tables) and the fitted models.

    A policy without model metrics costs nothing: ``tables`` come back unchanged."""
    groups = model_groups(policy)
    out = dict(tables)
    fitted: dict[str, FittedModels] = {}
    for table, metrics in groups.items():
        first = next(iter(metrics.values()))
        source = first.source
        assert source is not None
        unit: TimeUnit = first.time_unit or "week"
        if source not in tables:
            raise MissingSourceError(
                f"the policy's model metrics ({', '.join(metrics)}) are fitted on '{source}', "
                f"but the data has no {source} table; add {source}.csv or {source}.parquet"
            )
        names = ", ".join(f"'{n}'" for n in metrics)
        try:
            summary = from_arrow(
                run(dialect.sql(summary_query(source, tables[source], as_of))), as_of, unit
            )
            spend = any(m.predict in ("expected_spend", "clv") for m in metrics.values())
            models = fit_models(summary, spend=spend)
            columns: dict[str, pa.Array] = {"customer_id": summary.customer_id}
            for name, m in metrics.items():
                assert m.predict is not None
                values = predict_arrays(
                    models,
                    summary,
                    horizon=parse_horizon(m.horizon, unit) if m.horizon else 0.0,
                    discount_rate=float(m.discount_rate) if m.discount_rate is not None else 0.0,
                    margin=float(m.margin) if m.margin is not None else 1.0,
                    wanted=(m.predict,),
                )[m.predict]
                columns[name] = pa.array(np.round(values, DIGITS)).cast(PREDICTION_TYPE)
        except ModelError as err:
            raise type(err)(
                err.code,
                f"metric(s) {names}, fitted on {source} at {as_of.isoformat()}: {err}",
                model=None,
            ) from err
        register(table, pa.table(columns))
        out[table] = set(columns)
        fitted[table] = models
    return out, fitted


__all__ = ["DIGITS", "PREDICTION_TYPE", "Register", "RunArrow", "model_groups", "resolve_models"]
