"""Benchmark an evaluation run from the system of record against merely reading its facts.

For each database (SQLite file, PostgreSQL) the script, in a child process of its own (Django
is configured once per process):

1. creates a fresh database and migrates it;
2. bulk-loads a demo data set (``python -m fenji.demo.generate``, cached in ``bench/.data/``):
   customers, business lines, orders, receivables, monthly targets, score events — with COPY on
   PostgreSQL and ADBC bulk inserts on SQLite, not through the import service;
3. publishes the policy;
4. times, alternating, ``--repeat`` times each after one warm-up of each:
   - **read**: reading the facts the policy needs out of the database into canonical Arrow
     tables (``fenji.web.evaluations.facts.read_facts``: the read a run does, and nothing else);
   - **run**: ``evaluation_run_start`` — read, evaluate with explanations, hysteresis and
     overrides, write every result row (a label with its explanation per customer and
     dimension) and every customer row (revenue and metric values per customer), publish;
5. with ``--floor``, then times as many runs that make their rows but do not write them: the
   run's floor, what it would take if writing were free;
6. prints Markdown tables: medians, min, max, run / read, the run's own stage timings, the
   floor, and the CPU seconds the read and the run used — in this process with its worker
   processes, and in the PostgreSQL server when it runs on this machine.

Usage::

    .venv/bin/python bench/run_from_db.py --customers 50k --orders 1M
    .venv/bin/python bench/run_from_db.py --db sqlite --repeat 3
    .venv/bin/python bench/run_from_db.py --floor --policy examples/policies/tob_abcd.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "fenji_bench_runs"


def human(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def dataset(orders: int, customers: int, seed: int) -> Path:
    """The generated Parquet data set (made once, reused)."""
    folder = BENCH / ".data" / f"orders-{human(orders)}_customers-{human(customers)}_seed-{seed}"
    if not (folder / "orders.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fenji.demo.generate",
                "--customers",
                str(customers),
                "--orders",
                str(orders),
                "--seed",
                str(seed),
                "--format",
                "parquet",
                "--out",
                str(folder),
            ],
            check=True,
        )
    return folder


# --- child: one database -------------------------------------------------------------------


def _load(folder: Path) -> dict[str, float]:
    """Bulk-load the data set; returns seconds per table."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from django.db import connection

    from fenji.web.customers.models import BusinessLine, Customer
    from fenji.web.evaluations import arrowdb
    from fenji.web.facts.models import MonthlyTarget, Order, Receivable, ScoreEvent

    timings: dict[str, float] = {}
    started = time.perf_counter()
    c = pq.read_table(folder / "customers.parquet")
    n = c.num_rows
    now = pa.array(["2026-01-01 00:00:00+00:00"] * n)

    def blank(name: str) -> pa.ChunkedArray:
        return pc.fill_null(c.column(name), "")

    customers = pa.table(
        {
            "external_id": c.column("customer_id"),
            "name": blank("name"),
            "industry": blank("industry"),
            "region": blank("region"),
            "scale": blank("scale"),
            "owner": blank("owner"),
            "first_deal_date": c.column("first_deal_date"),
            "influence": blank("influence"),
            "tags": pa.array(["[]"] * n),
            "attributes": pa.array(["{}"] * n),
            "created_at": now,
            "updated_at": now,
        }
    )
    if connection.vendor == "sqlite":  # SQLite keeps dates as ISO text
        customers = customers.set_column(
            6, "first_deal_date", customers.column("first_deal_date").cast(pa.string())
        )
    arrowdb.write_rows(Customer._meta.db_table, customers)
    codes: set[str] = set()
    for name in ("orders", "receivables", "targets", "score_events"):
        codes |= set(
            pq.read_table(folder / f"{name}.parquet", columns=["business_line"])
            .column(0)
            .drop_null()
            .to_pylist()
        )
    BusinessLine.objects.bulk_create([BusinessLine(code=x, name=x) for x in sorted(codes)])
    pairs = list(Customer.objects.values_list("external_id", "id"))
    ids = pa.table(
        {
            "customer_id": pa.array([p[0] for p in pairs], pa.string()),
            "cid": pa.array([p[1] for p in pairs], pa.int64()),
        }
    )
    line_pairs = list(BusinessLine.objects.values_list("code", "id"))
    lines = pa.table(
        {
            "business_line": pa.array([p[0] for p in line_pairs], pa.string()),
            "lid": pa.array([p[1] for p in line_pairs], pa.int64()),
        }
    )
    timings["customers"] = time.perf_counter() - started

    def facts(name: str, model: Any, columns: dict[str, str], fill: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        t = pq.read_table(folder / f"{name}.parquet")
        t = t.join(ids, "customer_id").join(lines, "business_line", join_type="left outer")
        out: dict[str, Any] = {"customer_id": t.column("cid"), "business_line_id": t.column("lid")}
        for target, source in columns.items():
            col = t.column(source)
            if connection.vendor == "sqlite" and pa.types.is_date32(col.type):
                col = col.cast(pa.string())
            if pa.types.is_string(col.type):
                col = pc.fill_null(col, "")
            out[target] = col
        for target, value in fill.items():
            out[target] = pa.array([value] * t.num_rows)
        arrowdb.write_rows(model._meta.db_table, pa.table(out))
        timings[name] = time.perf_counter() - t0

    facts(
        "orders",
        Order,
        {
            "external_id": "order_id",
            "order_date": "order_date",
            "amount": "amount",
            "quantity": "quantity",
            "channel": "channel",
        },
        {"status": ""},
    )
    facts(
        "receivables",
        Receivable,
        {"external_id": "invoice_id", "due_date": "due_date", "amount": "amount"}
        | {"paid_date": "paid_date"},
        {},
    )
    facts("targets", MonthlyTarget, {"month": "month", "target_amount": "target_amount"}, {})
    facts(
        "score_events",
        ScoreEvent,
        {
            "external_id": "event_id",
            "event_date": "event_date",
            "item": "item",
            "points": "points",
            "red_line": "red_line",
        },
        {},
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return timings


def child(args: argparse.Namespace) -> None:
    from fenji.web.setup import django_setup, migrate

    django_setup()
    migrate()
    from django.db import connection

    from fenji.web.evaluations.facts import read_facts
    from fenji.web.evaluations.services import evaluation_run_start
    from fenji.web.policies.services import parsed_policy, policy_publish_text

    load = _load(Path(args.data))
    as_of = date.fromisoformat(args.as_of)
    out: dict[str, Any] = {"db": connection.vendor, "load": load, "policies": {}}
    for path in args.policy:
        version = policy_publish_text(yaml_text=Path(path).read_text(encoding="utf-8"))
        parsed = parsed_policy(version)
        reads: list[float] = []
        runs: list[float] = []
        stages: list[dict[str, float]] = []
        rows = customer_rows = 0
        cpu: dict[str, list[tuple[float, float]]] = {"read": [], "run": []}
        for i in range(args.repeat + 1):
            c0 = _cpu()
            t0 = time.perf_counter()
            facts = read_facts(policy=parsed, upto=as_of)
            t1 = time.perf_counter()
            c1 = _cpu()
            del facts
            run = evaluation_run_start(policy=parsed.name, as_of=as_of)
            t2 = time.perf_counter()
            c2 = _cpu()
            rows = int(run.counts["results"])
            customer_rows = int(run.counts.get("customer_rows", 0))
            if i == 0:
                continue  # warm-up
            reads.append(t1 - t0)
            runs.append(t2 - t1)
            stages.append(dict(run.timings))
            cpu["read"].append((c1[0] - c0[0], c1[1] - c0[1]))
            cpu["run"].append((c2[0] - c1[0], c2[1] - c1[1]))
        unwritten = _runs_without_writing(parsed.name, as_of, args.repeat) if args.floor else []
        out["policies"][parsed.name] = {
            "read": reads,
            "run": runs,
            "unwritten": unwritten,
            "cpu": cpu,
            "stages": stages,
            "results": rows,
            "customer_rows": customer_rows,
            "facts": {k: int(v) for k, v in run.counts["facts"].items()},
        }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process with its finished children (the SQLite worker), and
    of the local PostgreSQL server with its finished backends (0 where it is not local): a run
    that keeps both cores busy cannot be made faster by overlapping more."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if not name.startswith("postgres"):
            continue
        fields = rest.split()
        ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return client, ticks / os.sysconf("SC_CLK_TCK")


def _runs_without_writing(policy: str, as_of: date, repeat: int) -> list[float]:
    """Runs whose rows are made but not written (:meth:`RowWriter.send` drops them): what a
    run would take if writing were free — its floor. They are made after the measured runs
    (a published run without rows would change what the next run's hysteresis compares with)."""
    from fenji.web.evaluations import arrowdb
    from fenji.web.evaluations.services import evaluation_run_start

    send = arrowdb.RowWriter.send
    arrowdb.RowWriter.send = lambda self, table, data: None  # type: ignore[method-assign]
    try:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            evaluation_run_start(policy=policy, as_of=as_of)
            times.append(time.perf_counter() - t0)
        return times
    finally:
        arrowdb.RowWriter.send = send  # type: ignore[method-assign]


# --- parent ----------------------------------------------------------------------------------


def _pg_url(base: str, name: str) -> str:
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


def _recreate_pg(base: str) -> str:
    import psycopg

    with psycopg.connect(base.replace("postgres://", "postgresql://"), autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        con.execute(f"CREATE DATABASE {BENCH_DB}")
    return _pg_url(base, BENCH_DB)


def _drop_pg(base: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgres://", "postgresql://"), autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def run_db(db: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    # Other work on the machine shows here before it skews a figure.
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fenji-bench-") as tmp:
        if db == "sqlite":
            env["FENJI_DB"] = str(Path(tmp) / "bench.sqlite3")
        else:
            env["DATABASE_URL"] = _recreate_pg(args.pg_url)
        cmd = [sys.executable, __file__, "--child", "--data", str(folder), "--as-of", args.as_of]
        cmd += ["--repeat", str(args.repeat)] + (["--floor"] if args.floor else [])
        for p in args.policy:
            cmd += ["--policy", p]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            load_after = os.getloadavg()[0]
        finally:
            if db == "postgresql":
                _drop_pg(args.pg_url)
    if proc.returncode != 0:
        raise SystemExit(f"{db} child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    result["loadavg"] = [load_before, load_after]
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "| database | policy | result rows | customer rows | read s (median, min-max) "
        "| run s (median, min-max) | run / read | run stages (median s) | peak RSS MiB "
        "| load before / after |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        for name, p in r["policies"].items():
            read, run = p["read"], p["run"]
            stages = {
                k: statistics.median(s.get(k, 0.0) for s in p["stages"]) for k in p["stages"][0]
            }
            stage_text = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
            lines.append(
                f"| {r['db']} | {name} | {p['results']:,} | {p.get('customer_rows', 0):,} "
                f"| {statistics.median(read):.2f} "
                f"({min(read):.2f}-{max(read):.2f}) | {statistics.median(run):.2f} "
                f"({min(run):.2f}-{max(run):.2f}) | "
                f"{statistics.median(run) / statistics.median(read):.2f}x | {stage_text} | "
                f"{r['peak_rss_mb']:.0f} | {r['loadavg'][0]:.1f} / {r['loadavg'][1]:.1f} |"
            )
    lines += [
        "",
        "| database | policy | run without writing s (median, min-max) | / read "
        "| CPU s read: client / PostgreSQL | CPU s run: client / PostgreSQL |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for name, p in r["policies"].items():
            free = p.get("unwritten") or []
            floor = (
                f"{statistics.median(free):.2f} ({min(free):.2f}-{max(free):.2f}) "
                f"| {statistics.median(free) / statistics.median(p['read']):.2f}x"
                if free
                else "(--floor) |"
            )
            cpu = {
                k: tuple(statistics.median(x[i] for x in v) for i in range(2))
                for k, v in p["cpu"].items()
            }
            lines.append(
                f"| {r['db']} | {name} | {floor} | {cpu['read'][0]:.2f} / {cpu['read'][1]:.2f} "
                f"| {cpu['run'][0]:.2f} / {cpu['run'][1]:.2f} |"
            )
    loads = [
        f"{r['db']}: " + ", ".join(f"{k} {v:.1f}s" for k, v in r["load"].items()) for r in results
    ]
    return "\n".join(lines) + "\n\nBulk load (setup, not part of the figures): " + "; ".join(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", default="50k")
    parser.add_argument("--orders", default="1M")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("FENJI_TEST_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--policy", action="append", default=None)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time runs that make their rows but do not write them",
    )
    parser.add_argument("--json", type=Path, default=None, help="write raw measurements here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.policy is None:
        args.policy = [str(ROOT / "examples" / "policies" / "tob_abcd.yaml")]
    if args.child:
        child(args)
        return
    from fenji.demo.generate import parse_count

    folder = dataset(parse_count(args.orders), parse_count(args.customers), args.seed)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run_db(db, args, folder) for db in dbs]
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    print(report(results, args))


if __name__ == "__main__":
    main()
