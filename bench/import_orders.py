"""Benchmark ``fenji import orders`` of a million orders into SQLite and into PostgreSQL.

The demo generator writes a CSV data set once (cached in ``bench/.data/``). Then, for each
database and each repetition, a fresh database gets the customers and then the orders, each
imported by ``fenji import`` as a separate process, and the orders are imported a second time
(the idempotent re-import: every row is compared with the stored one and nothing is written).
Wall time is measured around the whole process (interpreter start, migrations check, reading,
checking, writing, commit); peak memory is the child's ``ru_maxrss`` from ``os.wait4``. After
each step the database is checked: every order stored once, the re-import audited as 0 created
and 0 updated. The PostgreSQL database is a scratch one, created and dropped by the benchmark.

Usage::

    .venv/bin/python bench/import_orders.py --orders 1M --customers 50k --repeat 3
    .venv/bin/python bench/import_orders.py --no-postgres
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from fenji.demo.generate import parse_count
from run import BENCH, ROOT, Run, generator_fingerprint, human, machine, timed

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
STEPS = ("customers", "orders", "orders again")
_SECONDS_LINE = re.compile(r"^(\d+(?:\.\d+)?)s$", re.MULTILINE)

#: Runs SQL on the benchmark's database and returns the rows.
Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass
class Step:
    """One timed ``fenji import`` process."""

    database: str
    step: str
    rows: int
    seconds: float
    import_seconds: float  # as the command reports it: the import itself, without start-up
    peak_rss_mb: float


def ensure_data(orders: int, customers: int) -> Path:
    """The CSV data set, generated unless an identical one is cached."""
    folder = (
        BENCH / ".data" / f"import-csv-{human(orders)}-{human(customers)}-{generator_fingerprint()}"
    )
    if not (folder / "orders.csv").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        run = timed(
            [
                sys.executable,
                "-m",
                "fenji.demo.generate",
                "--customers",
                str(customers),
                "--orders",
                str(orders),
                "--format",
                "csv",
                "--seed",
                "42",
                "--out",
                str(folder),
            ],
            timeout=3600,
            log=folder / "generate.log",
        )
        print(f"generated {folder.name} in {run.seconds:.1f}s", file=sys.stderr)
    return folder


def import_step(
    database: str, step: str, path: Path, rows: int, env: dict[str, str], log: Path
) -> Step:
    kind = "customers" if step == "customers" else "orders"
    cmd = [sys.executable, "-m", "fenji.cli", "import", kind, str(path), "--lang", "en"]
    run = timed_with_env(cmd, env=env, log=log)
    found = _SECONDS_LINE.findall(log.read_text(encoding="utf-8", errors="replace"))
    inside = float(found[-1]) if found else float("nan")
    return Step(database, step, rows, run.seconds, inside, run.peak_rss_mb)


def timed_with_env(cmd: list[str], *, env: dict[str, str], log: Path) -> Run:
    """Like :func:`run.timed`, with the database chosen through the child's environment."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"command failed ({code}): {' '.join(cmd)}\n{tail}")
    return Run(seconds, usage.ru_maxrss / 1024)  # KiB on Linux


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENJI_DB")}
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


@contextmanager
def sqlite_database(folder: Path) -> Iterator[tuple[dict[str, str], Query]]:
    path = folder / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    env = base_env() | {"FENJI_DB": str(path)}

    def query(sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path) as con:
            return list(con.execute(sql))

    yield env, query
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[tuple[dict[str, str], Query]]:
    name = f"fenji_bench_import_{os.getpid()}"
    parts = urlsplit(admin_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = base_env() | {"DATABASE_URL": url}

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as con:
            return list(con.execute(sql))

    try:
        yield env, query
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check(query: Query, step: str, orders: int, customers: int) -> None:
    """Stop the benchmark unless the database holds what the step should have left."""
    counts = query("SELECT COUNT(*), COUNT(DISTINCT external_id) FROM facts_order")[0]
    details = query("SELECT details FROM accounts_auditentry ORDER BY id DESC LIMIT 1")[0][0]
    audit = json.loads(details) if isinstance(details, str) else details
    expected = {
        "customers": ((0, 0), {"created": customers}),
        "orders": ((orders, orders), {"created": orders, "updated": 0}),
        "orders again": ((orders, orders), {"created": 0, "updated": 0, "unchanged": orders}),
    }[step]
    if tuple(counts) != expected[0] or any(audit[k] != v for k, v in expected[1].items()):
        raise SystemExit(
            f"{step}: database holds {counts}, audit says {audit}; expected {expected}"
        )


def measure(args: argparse.Namespace, data: Path) -> list[Step]:
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    if not args.no_postgres:
        databases.append(("PostgreSQL", args.postgres))
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="fenji-import-bench-") as scratch:
        folder = Path(scratch)
        for repeat in range(args.repeat):
            for name, admin_url in databases:
                context = (
                    sqlite_database(folder) if admin_url is None else postgres_database(admin_url)
                )
                with context as (env, query):
                    for step in STEPS:
                        path = data / ("customers.csv" if step == "customers" else "orders.csv")
                        rows = args.customers if step == "customers" else args.orders
                        log = folder / f"{name}-{step.replace(' ', '-')}-{repeat}.log"
                        measured = import_step(name, step, path, rows, env, log)
                        check(query, step, args.orders, args.customers)
                        steps.append(measured)
                        print(
                            f"{name:10} {step:13} {measured.seconds:7.2f}s "
                            f"{measured.rows / measured.seconds:9,.0f} rows/s "
                            f"{measured.peak_rss_mb:6.0f} MiB",
                            file=sys.stderr,
                        )
    return steps


def markdown(steps: list[Step], args: argparse.Namespace, load: tuple[float, float]) -> str:
    lines = [
        f"{human(args.orders)} orders, {human(args.customers)} customers, CSV; "
        f"{args.repeat} run(s) per database; {machine()}; load {load[0]:.1f} / {load[1]:.1f}",
        "",
        "| database | step | rows | median wall s (min-max) | rows/s (wall) | "
        "import s (in-process) | rows/s (in-process) | peak RSS MiB |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for database in dict.fromkeys(s.database for s in steps):
        for step in STEPS:
            runs = [s for s in steps if s.database == database and s.step == step]
            if not runs:
                continue
            wall = statistics.median(r.seconds for r in runs)
            inside = statistics.median(r.import_seconds for r in runs)
            rss = statistics.median(r.peak_rss_mb for r in runs)
            spread = f"{min(r.seconds for r in runs):.2f}-{max(r.seconds for r in runs):.2f}"
            rows = runs[0].rows
            rate = f"{rows / inside:,.0f}" if inside > 0 else "-"
            lines.append(
                f"| {database} | {step} | {rows:,} | {wall:.2f} ({spread}) | {rows / wall:,.0f} "
                f"| {inside:.2f} | {rate} | {rss:,.0f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=parse_count, default=1_000_000)
    parser.add_argument("--customers", type=parse_count, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("FENJI_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL),
        help="URL of a PostgreSQL database allowed to create and drop a scratch database",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="write the raw measurements here")
    args = parser.parse_args()

    data = ensure_data(args.orders, args.customers)
    load_before = os.getloadavg()[0]
    steps = measure(args, data)
    load = (load_before, os.getloadavg()[0])
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in steps], indent=2), encoding="utf-8")
    print(markdown(steps, args, load))
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"benchmark took {time.perf_counter() - started:.0f}s", file=sys.stderr)
    raise SystemExit(code)
