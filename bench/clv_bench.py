"""Time and peak memory of ``fenji clv fit`` and ``fenji clv predict`` on a demo data set.

Each command runs as its own process (wall time around the whole process, peak memory the
child's ``ru_maxrss`` from ``os.wait4``), ``--repeat`` times after one warm-up; then one
in-process run times the stages separately: the summary query (DuckDB over the Parquet
orders), grouping, the BG/NBD fit, the Gamma-Gamma fit, the calibration histogram and the
predictions. The data set comes from ``python -m fenji.demo.generate`` (see bench/README.md).

Usage::

    .venv/bin/python bench/clv_bench.py --data bench/.data/orders-20M_customers-1M_seed-42 \\
        --as-of 2026-10-31 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process; stops on failure."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def stages(orders: Path, as_of: date, horizon: str, rate: float) -> dict[str, float | int]:
    """Seconds per stage of one in-process fit and prediction."""
    from fenji.engine.clv import diagnostics, models
    from fenji.engine.clv.summary import summarize
    from fenji.engine.clv.value import parse_horizon
    from fenji.io.orders import open_orders

    out: dict[str, float | int] = {}
    t = time.perf_counter()
    data = open_orders(orders)
    out["open_and_check_s"] = time.perf_counter() - t
    t = time.perf_counter()
    summary = summarize(data.con, data.table, data.columns, as_of, time_unit="week")
    out["summary_sql_s"] = time.perf_counter() - t
    data.close()
    out["customers"] = len(summary)
    t = time.perf_counter()
    grouped = summary.grouped()
    out["grouping_s"] = time.perf_counter() - t
    out["distinct_histories"] = int(grouped.x.size)
    t = time.perf_counter()
    fitted = models.fit_models(summary, spend=False)
    out["fit_bgnbd_s"] = time.perf_counter() - t
    out["bgnbd_iterations"] = fitted.bgnbd.iterations
    t = time.perf_counter()
    from fenji.engine.clv import gammagamma

    gg = gammagamma.fit(summary.x, summary.monetary)
    out["fit_gamma_gamma_s"] = time.perf_counter() - t
    out["gamma_gamma_iterations"] = gg.iterations
    both = models.FittedModels(
        fitted.as_of, fitted.time_unit, fitted.customers, fitted.repeaters, fitted.bgnbd, gg
    )
    t = time.perf_counter()
    diagnostics.calibration_histogram(both.purchases, summary)
    out["histogram_s"] = time.perf_counter() - t
    t = time.perf_counter()
    length = parse_horizon(horizon, "week")
    models.predict(both, summary, horizon=length, discount_rate=rate)
    out["predict_s"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with orders.parquet")
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--horizon", default="12 months")
    parser.add_argument("--discount-rate", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fenji", default=str(Path(sys.executable).with_name("fenji")))
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args()
    orders = args.data / "orders.parquet"
    common = ["--orders", str(orders), "--as-of", args.as_of, "--time-unit", "week"]
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "fit": [args.fenji, "clv", "fit", *common, "--json"],
            "predict": [
                args.fenji, "clv", "predict", *common, "--horizon", args.horizon,
                "--discount-rate", str(args.discount_rate), "--out", f"{tmp}/p.parquet",
            ],
        }  # fmt: skip
        results: dict[str, object] = {}
        for name, cmd in commands.items():
            run(cmd)  # warm-up: page cache, the file checks' cache
            runs = [run(cmd) for _ in range(args.repeat)]
            results[name] = {
                "median_s": statistics.median(r[0] for r in runs),
                "min_s": min(r[0] for r in runs),
                "max_s": max(r[0] for r in runs),
                "peak_rss_mib": max(r[1] for r in runs),
                "load": os.getloadavg()[0],
            }
            print(name, json.dumps(results[name]), flush=True)
    results["stages"] = stages(
        orders, date.fromisoformat(args.as_of), args.horizon, args.discount_rate
    )
    print("stages", json.dumps(results["stages"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
