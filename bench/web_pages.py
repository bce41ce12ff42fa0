"""Benchmark the web UI's busiest pages against the SQL they run.

With 100,000 customers and 12 monthly runs of history (the S1 policy ``tob_abcd``: five
dimensions, so 500,000 result rows a run), the script, in a child process per database:

1. creates a fresh database, migrates it and bulk-loads a generated data set (the loader of
   ``bench/run_from_db.py``; cached in ``bench/.data/``);
2. creates an administrator, a manager whose team is ten reps, and the reps that own the
   customers;
3. publishes the policy and runs the last 12 month-ends (``evaluation_run_series``);
4. for each page and user: requests it through Django's full stack (middleware, session,
   template rendering) with the test client ``--repeat`` times after a warm-up, recording the
   SQL statements each request ran; then executes exactly those statements (same parameters)
   straight on the database cursor ``--repeat`` times;
5. prints a Markdown table: median server time, median SQL time, the ratio (target: within 3x),
   and the number of queries.

Usage::

    .venv/bin/python bench/web_pages.py                      # SQLite, 100k customers, 1M orders
    .venv/bin/python bench/web_pages.py --db postgres --repeat 7
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
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from run_from_db import DEFAULT_PG, _load, dataset  # noqa: E402

BENCH_DB = "fenji_bench_pages"
PAGES = [
    ("dashboard", "/dashboard/?policy=tob_abcd&dimension=overall"),
    ("customers", "/customers/?policy=tob_abcd"),
    ("customers, label filter", "/customers/?policy=tob_abcd&label=overall:A"),
    ("customers, by revenue", "/customers/?policy=tob_abcd&sort=-revenue"),
    ("customers, search", "/customers/?policy=tob_abcd&q=C0001"),
    ("customers, page 1000", "/customers/?policy=tob_abcd&page=1000"),
    ("run page", "/runs/{run}/"),  # the published run: its counts and its diff
]
USERS = ("admin", "manager", "rep")


def _users() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from fenji.web.accounts.models import Membership, Role, Team
    from fenji.web.customers.models import Customer

    model = get_user_model()
    owners = sorted(set(Customer.objects.exclude(owner="").values_list("owner", flat=True)))
    team = Team.objects.create(name="bench")
    users: dict[str, Any] = {}
    for login in owners:
        user = model.objects.create_user(username=login)
        Membership.objects.create(
            user=user, role=Role.REP, team=team if login in owners[:10] else None
        )
    admin = model.objects.create_user(username="bench_admin")
    Membership.objects.create(user=admin, role=Role.ADMIN)
    manager = model.objects.create_user(username="bench_manager")
    Membership.objects.create(user=manager, role=Role.MANAGER, team=team)
    users["admin"], users["manager"] = admin, manager
    users["rep"] = model.objects.get(username=owners[0])
    return users


def _measure(users: dict[str, Any], repeat: int) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from fenji.web.evaluations.models import Publication

    rows: list[dict[str, Any]] = []
    wanted = os.environ.get("FENJI_BENCH_PAGES", "")
    published = Publication.objects.get(policy__name="tob_abcd").run_id
    for name, page in PAGES:
        url = page.format(run=published)
        if wanted and not any(w.strip() and name.startswith(w.strip()) for w in wanted.split(",")):
            continue
        for role in USERS:
            client = Client()
            client.force_login(users[role])
            client.get(url)  # warm-up
            server: list[float] = []
            captured: list[dict[str, str]] = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    server.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
                captured = list(queries.captured_queries)
            # The session and user lookups of the request are part of the page's SQL too.
            sql: list[float] = []
            with connection.cursor() as cursor:
                for _ in range(repeat):
                    started = time.perf_counter()
                    for q in captured:
                        cursor.execute(q["sql"])
                        if cursor.description is not None:
                            cursor.fetchall()
                    sql.append(time.perf_counter() - started)
            rows.append(
                {
                    "page": name,
                    "user": role,
                    "server_ms": statistics.median(server) * 1000,
                    "sql_ms": statistics.median(sql) * 1000,
                    "queries": len(captured),
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def child(args: argparse.Namespace) -> None:
    from fenji.web.setup import django_setup, migrate

    django_setup()
    migrate()
    folder = Path(args.folder)
    started = time.perf_counter()
    _load(folder)
    load_s = time.perf_counter() - started
    users = _users()
    from fenji.web.evaluations.services import evaluation_run_series
    from fenji.web.policies.services import policy_publish_text

    policy_publish_text(yaml_text=(ROOT / "examples/policies/tob_abcd.yaml").read_text("utf-8"))
    started = time.perf_counter()
    end = date.fromisoformat(args.as_of)
    start = date(end.year - 1, end.month, 1)
    evaluation_run_series(policy="tob_abcd", start=start, end=end)
    runs_s = time.perf_counter() - started
    rows = _measure(users, args.repeat)
    print(json.dumps({"load_s": load_s, "runs_s": runs_s, "rows": rows}))


def run_db(db: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    # Django's test client calls itself "testserver".
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="fenji.web.settings", FENJI_ALLOWED_HOSTS="testserver"
    )
    with tempfile.TemporaryDirectory(prefix="fenji-bench-pages-") as tmp:
        if db == "sqlite":
            env.pop("DATABASE_URL", None)
            env["FENJI_DB"] = str(Path(tmp) / "bench.sqlite3")
        else:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as con:
                con.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
                con.execute(f"CREATE DATABASE {BENCH_DB}")
            env["DATABASE_URL"] = args.postgres.rsplit("/", 1)[0] + f"/{BENCH_DB}"
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--folder",
            str(folder),
            "--repeat",
            str(args.repeat),
            "--as-of",
            args.as_of,
        ]
        out = subprocess.run(cmd, env=env, check=False, stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{db}: the benchmark process failed (its errors are above)")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["db"] = db
        return result


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | page | user | server ms (median) | its SQL ms (median) | ratio | queries |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for result in results:
        for r in result["rows"]:
            ratio = r["server_ms"] / r["sql_ms"] if r["sql_ms"] else float("nan")
            lines.append(
                f"| {result['db']} | {r['page']} | {r['user']} | {r['server_ms']:.1f} | "
                f"{r['sql_ms']:.1f} | {ratio:.2f}x | {r['queries']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument(
        "--pages",
        default="",
        help="comma-separated page names to measure (prefixes), e.g. customers",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    folder = dataset(args.orders, args.customers, args.seed)
    os.environ["FENJI_BENCH_PAGES"] = args.pages
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for db in dbs:
        result = run_db(db, args, folder)
        print(
            f"{db}: load {result['load_s']:.1f} s, 12 runs {result['runs_s']:.1f} s",
            file=sys.stderr,
        )
        results.append(result)
    print(report(results))


if __name__ == "__main__":
    main()
