"""``fenji clv``: fit the lifetime-value models, predict per customer, check on a holdout.

- ``fenji clv fit --orders FILE --as-of D`` fits BG/NBD (r, alpha, a, b) and Gamma-Gamma
  (p, q, gamma) on the customers who bought by D and prints the estimates with standard errors
  and the calibration histogram (``--json`` for machines);
- ``fenji clv predict ... --horizon 12months --out FILE`` writes P(alive), expected purchases,
  expected spend and CLV per customer (CSV or Parquet);
- ``fenji clv holdout --orders FILE --as-of D --holdout-end E`` fits on the orders up to D and
  compares predicted with actual purchases in (D, E], by calibration frequency, and writes the
  figures as JSON for plotting.

Orders are one file: canonical orders (CSV, XLSX, Parquet) or the CDNOW text format, detected.
Model imports (SciPy) happen inside the commands, so ``fenji --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fenji.engine.clv.diagnostics import Histogram, Holdout
    from fenji.engine.clv.models import FittedModels
    from fenji.engine.clv.summary import CustomerSummary
    from fenji.io.orders import OrdersData

clv_app = typer.Typer(
    no_args_is_help=True,
    help="Customer lifetime value (客户终身价值): BG/NBD and Gamma-Gamma models.",
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

Orders = Annotated[Path, typer.Option("--orders", help="orders file (CSV, XLSX, Parquet, CDNOW)")]
AsOf = Annotated[
    str, typer.Option("--as-of", help="end of the calibration period, e.g. 1997-09-30")
]
Unit = Annotated[str, typer.Option("--time-unit", help="day or week: the unit of t_x, T, rates")]
Format = Annotated[
    str, typer.Option("--format", help="auto (default), cdnow or canonical: how to read --orders")
]


def register(app: typer.Typer) -> None:
    app.add_typer(clv_app, name="clv")


def _fail(message: str, code: int = 1) -> None:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _day(text: str, option: str) -> date:
    from fenji.dates import parse_as_of

    try:
        return parse_as_of(text)
    except ValueError as err:
        _fail(f"{option}: {err}", 2)
    raise AssertionError  # pragma: no cover


def _unit(text: str) -> str:
    if text not in ("day", "week"):
        _fail(f"--time-unit must be day or week, not '{text}'", 2)
    return text


@contextmanager
def _errors() -> Iterator[None]:
    """Bad input and models that cannot be fitted become one clear message and exit code 1."""
    from fenji.engine.clv.errors import ModelError
    from fenji.io.errors import DataError

    try:
        yield
    except ModelError as err:
        _fail(f"{err} [{err.code}]")
    except DataError as err:
        _fail(err.format("en"))
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))


def _open(path: Path, fmt: str, output: Path | None = None) -> OrdersData:
    from fenji.io.orders import open_orders

    if fmt not in ("auto", "cdnow", "canonical"):
        _fail(f"--format must be auto, cdnow or canonical, not '{fmt}'", 2)
    return open_orders(path, fmt=fmt, output=output)  # type: ignore[arg-type]


def _summarize(
    orders: OrdersData, as_of: date, unit: str, holdout_end: date | None = None
) -> CustomerSummary:
    from fenji.engine.clv.summary import summarize

    return summarize(
        orders.con,
        orders.table,
        orders.columns,
        as_of,
        time_unit=unit,  # type: ignore[arg-type]
        holdout_end=holdout_end,
    )


def _parameters_table(models: FittedModels) -> Table:
    table = Table(title=f"Fitted at {models.as_of}, time unit {models.time_unit}")
    for name in ("model", "parameter", "estimate", "std. error", "95% interval"):
        table.add_column(name, justify="left" if name in ("model", "parameter") else "right")
    fits = [models.bgnbd] + ([models.gamma_gamma] if models.gamma_gamma else [])
    for fit in fits:
        for i, e in enumerate(fit.estimates):
            table.add_row(
                fit.model if i == 0 else "",
                e.name,
                f"{e.value:.4f}",
                f"{e.se:.4f}",
                f"{e.lower:.4f} - {e.upper:.4f}",
            )
    return table


def _histogram_table(hist: Histogram) -> Table:
    table = Table(title="Calibration repeat purchases: customers, actual vs expected")
    table.add_column("repeat purchases")
    table.add_column("actual", justify="right")
    table.add_column("expected", justify="right")
    for label, a, e in zip(hist.labels, hist.actual, hist.expected, strict=True):
        table.add_row(label, str(a), f"{e:.1f}")
    return table


def _fit_report(models: FittedModels, hist: Histogram) -> dict[str, Any]:
    return {**models.as_dict(), "calibration_histogram": hist.as_dict()}


@clv_app.command("fit")
def fit_cmd(
    orders: Orders,
    as_of: AsOf,
    time_unit: Unit = "week",
    fmt: Format = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on the orders up to the as-of date; print the estimates with
    standard errors and goodness of fit."""
    from fenji.engine.clv.diagnostics import calibration_histogram
    from fenji.engine.clv.models import fit_models

    day, unit = _day(as_of, "--as-of"), _unit(time_unit)
    started = time.perf_counter()
    with _errors():
        data = _open(orders, fmt)
        try:
            summary = _summarize(data, day, unit)
        finally:
            data.close()
        models = fit_models(summary)
        hist = calibration_histogram(models.purchases, summary)
    if as_json:
        console.print_json(json.dumps(_fit_report(models, hist)))
        return
    console.print(_parameters_table(models))
    b, g = models.bgnbd, models.gamma_gamma
    console.print(
        f"customers {models.customers:,} ({models.repeaters:,} with repeat purchases); "
        f"BG/NBD log-likelihood {b.loglik:,.2f} (AIC {b.aic:,.1f})"
        + (f"; Gamma-Gamma log-likelihood {g.loglik:,.2f} on {g.n:,} customers" if g else ""),
        highlight=False,
    )
    console.print(_histogram_table(hist))
    p = f", p = {hist.p_value:.3f}" if hist.p_value is not None else ""
    console.print(
        f"chi-square {hist.chi_square:.2f} on {hist.degrees_of_freedom} d.f.{p}; "
        f"correlation of spend and frequency {models.spend_correlation or 0:.3f} "
        "(the spend model assumes about 0)",
        highlight=False,
    )
    err_console.print(f"fitted in {time.perf_counter() - started:.2f}s")


@clv_app.command("predict")
def predict_cmd(
    orders: Orders,
    as_of: AsOf,
    horizon: Annotated[
        str, typer.Option("--horizon", help="e.g. 39 (time units), '12 months', '90 days'")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help=".csv or .parquet")],
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="per month, e.g. 0.01 for 1% a month")
    ] = 0.0,
    margin: Annotated[float, typer.Option("--margin", help="share of spend that is value")] = 1.0,
    time_unit: Unit = "week",
    fmt: Format = "auto",
    params_out: Annotated[
        Path | None, typer.Option("--params-out", help="also write the fitted models as JSON")
    ] = None,
) -> None:
    """Write P(alive), expected purchases and spend, and CLV over the horizon per customer."""
    from fenji.engine.clv.models import fit_models, predict
    from fenji.engine.clv.value import parse_horizon

    day, unit = _day(as_of, "--as-of"), _unit(time_unit)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        _fail(f"--out {out}: write to a .csv or .parquet file", 2)
    started = time.perf_counter()
    with _errors():
        length = parse_horizon(horizon, unit)  # type: ignore[arg-type]
        data = _open(orders, fmt)
        try:
            summary = _summarize(data, day, unit)
        finally:
            data.close()
        models = fit_models(summary)
        table = predict(models, summary, horizon=length, discount_rate=discount_rate, margin=margin)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, out)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, out)
    if params_out is not None:
        params_out.write_text(json.dumps(models.as_dict(), indent=2) + "\n", encoding="utf-8")
    b = models.purchases
    err_console.print(
        f"{table.num_rows:,} customers -> {out} in {time.perf_counter() - started:.2f}s "
        f"(r={b.r:.4g}, alpha={b.alpha:.4g}, a={b.a:.4g}, b={b.b:.4g}; horizon {length:g} "
        f"{unit}s)",
        highlight=False,
    )


def _holdout_table(result: Holdout) -> Table:
    table = Table(
        title=f"Purchases in ({result.calibration_end}, {result.holdout_end}] "
        f"({result.length:g} {result.time_unit}s) by calibration repeat purchases"
    )
    for name in ("x", "customers", "actual mean", "predicted mean", "actual", "predicted"):
        table.add_column(name, justify="right")
    for r in result.rows:
        table.add_row(
            r.label,
            f"{r.customers:,}",
            f"{r.actual_mean:.3f}",
            f"{r.expected_mean:.3f}",
            f"{r.actual_total:,}",
            f"{r.expected_total:,.1f}",
        )
    table.add_row(
        "all",
        f"{sum(r.customers for r in result.rows):,}",
        "",
        "",
        f"{result.actual_total:,}",
        f"{result.expected_total:,.1f}",
    )
    return table


@clv_app.command("holdout")
def holdout_cmd(
    orders: Orders,
    as_of: AsOf,
    holdout_end: Annotated[str, typer.Option("--holdout-end", help="last day of the holdout")],
    time_unit: Unit = "week",
    fmt: Format = "auto",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write fit, histogram, holdout and tracking")
    ] = None,
    svg_out: Annotated[
        Path | None, typer.Option("--svg", help="write the holdout chart as an SVG file")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (default) or en")] = "zh",
) -> None:
    """Fit up to the as-of date, then compare predicted and actual purchases after it."""
    from fenji.engine.clv.diagnostics import calibration_histogram, holdout, tracking
    from fenji.engine.clv.models import fit_models
    from fenji.engine.clv.summary import repeat_days_query
    from fenji.engine.dialects import DUCKDB

    day, end, unit = _day(as_of, "--as-of"), _day(holdout_end, "--holdout-end"), _unit(time_unit)
    if end <= day:
        _fail(f"--holdout-end {end} must be after --as-of {day}", 2)
    with _errors():
        data = _open(orders, fmt)
        try:
            summary = _summarize(data, day, unit, end)
            query = repeat_days_query(data.table, data.columns, day, end)
            by_day = {d: int(n) for d, n in data.con.sql(DUCKDB.sql(query)).fetchall()}
        finally:
            data.close()
        models = fit_models(summary)
        hist = calibration_histogram(models.purchases, summary)
        result = holdout(models.purchases, summary)
        track = tracking(models.purchases, summary, by_day, end)
    console.print(_parameters_table(models))
    console.print(_histogram_table(hist))
    console.print(_holdout_table(result))
    if json_out is not None:
        report = {
            "orders": orders.name,
            **_fit_report(models, hist),
            "holdout": result.as_dict(),
            "tracking": track.as_dict(),
        }
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        err_console.print(f"figures -> {json_out}")
    if svg_out is not None:
        from fenji.engine.clv.chart import holdout_svg

        title = (
            f"{orders.name}: 保留期每位客户的重复购买（实际与预测）"
            if lang == "zh"
            else f"{orders.name}: repeat purchases per customer in the holdout, actual vs predicted"
        )
        svg_out.parent.mkdir(parents=True, exist_ok=True)
        svg_out.write_text(holdout_svg(result.as_dict(), title=title, lang=lang), encoding="utf-8")
        err_console.print(f"chart -> {svg_out}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(clv_app())
