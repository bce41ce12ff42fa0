"""Data, a policy and a child process for the evaluation-run tests.

The policy grades each customer by sales in the calendar month of the as-of date, twice: once
as computed (``value``) and once with hysteresis (``steady``: a downgrade needs two runs). The
orders are chosen so that each customer's grade moves the way a test needs, month by month.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.db import connection

from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations.models import Publication, RunResult
from fenji.web.facts.models import Order
from fenji.web.policies.services import policy_publish_text

POLICY = "runs_test"
POLICY_YAML = """\
fenji: 1
name: runs_test
title: {zh: 运行测试, en: run test}
metrics:
  sales_m:
    title: {zh: 当月销售额, en: sales in the month}
    agg: sum
    from: orders
    of: amount
    window: month
    unit: yuan
dimensions:
  value:
    title: {zh: 价值等级, en: value grade}
    method: bands
    metric: sales_m
    bands:
      - {label: A, min: 1000}
      - {label: B, min: 500}
      - {label: C, min: 100}
      - {label: D}
  steady:
    title: {zh: 稳定等级, en: steady grade}
    method: bands
    metric: sales_m
    hysteresis: {downgrade_after: 2}
    bands:
      - {label: A, min: 1000}
      - {label: B, min: 500}
      - {label: C, min: 100}
      - {label: D}
summary:
  revenue: sales_m
"""

JAN, FEB, MAR, APR = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)
MONTHS = (JAN, FEB, MAR, APR)

#: Sales per customer and month -> labels A >= 1000 > B >= 500 > C >= 100 > D.
SALES: dict[str, tuple[int, int, int, int]] = {
    "C1": (1200, 600, 50, 1500),  # A, B, D, A: held once, then down two runs in, back up
    "C2": (600, 600, 1200, 600),  # B, B, A, B
    "C3": (1500, 700, 1300, 800),  # A, B, A, B: held, back, held again
    "C4": (50, 150, 550, 1100),  # D, C, B, A: up every month
    "C5": (300, 300, 300, 300),  # C all along
}


def publish_policy(text: str = POLICY_YAML) -> None:
    policy_publish_text(yaml_text=text)


def make_customers_and_orders() -> None:
    """Customers C1-C5 and one order per customer and month (on the 10th), in bulk."""
    line = BusinessLine.objects.create(code="dairy", name="乳品")
    customers = Customer.objects.bulk_create(
        [Customer(external_id=cid, name=f"客户{cid}", owner="rep1") for cid in SALES]
    )
    orders = []
    for customer in customers:
        for month, amount in zip(MONTHS, SALES[customer.external_id], strict=True):
            orders.append(
                Order(
                    external_id=f"{customer.external_id}-{month:%m}",
                    customer=customer,
                    business_line=line,
                    order_date=month.replace(day=10),
                    amount=Decimal(amount) + Decimal("0.1234"),
                    quantity=Decimal(1),
                    channel="direct",
                )
            )
    Order.objects.bulk_create(orders)


def setup_data() -> None:
    make_customers_and_orders()
    publish_policy()


def label_of(run_id: int, customer: str, dimension: str) -> RunResult:
    return RunResult.objects.get(run_id=run_id, customer__external_id=customer, dimension=dimension)


def result_rows(run_id: int) -> list[tuple[Any, ...]]:
    """Everything a result says, in a stable order, without ids of its own."""
    return list(
        RunResult.objects.filter(run_id=run_id)
        .order_by("customer__external_id", "dimension")
        .values_list(
            "customer__external_id",
            "business_line_id",
            "dimension",
            "label",
            "computed_label",
            "base_label",
            "held_runs",
            "score",
            "why",
            "next_label",
            "gap",
            "source",
            "override_id",
        )
    )


def published_run_id() -> int | None:
    pub = Publication.objects.filter(policy__name=POLICY).first()
    return pub.run_id if pub is not None else None


# --- a run in another process ---------------------------------------------------------------

CHILD = Path(__file__).with_name("run_child.py")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a process that uses this test's database."""
    env = dict(os.environ)
    env.pop("FENJI_TEST_RUN_PAUSE", None)
    env.pop("FENJI_TEST_RUN_PAUSE_SECONDS", None)
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        env["FENJI_DB"] = str(s["NAME"])
    else:
        user = s.get("USER") or ""
        password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
        host = s.get("HOST") or "127.0.0.1"
        port = s.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"
    env["DJANGO_SETTINGS_MODULE"] = "fenji.web.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


@dataclass
class Child:
    proc: subprocess.Popen[str]

    def wait_for_pause(self, point: str, timeout: float = 60.0) -> None:
        """Read the child's stderr until it says it paused at ``point``."""
        stream: IO[str] | None = self.proc.stderr
        assert stream is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = stream.readline()
            if not line:
                break
            seen.append(line)
            if line.strip() == f"fenji-run-paused:{point}":
                return
        self.proc.kill()
        raise AssertionError(f"child never paused at {point}:\n{''.join(seen)[-3000:]}")

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def start_child(
    as_of: date,
    *,
    pause: str | None = None,
    pause_seconds: float | None = None,
    series_to: date | None = None,
) -> Child:
    """A run of ``runs_test`` at ``as_of`` in another process, paused at ``pause`` (for
    ``pause_seconds``, or until killed)."""
    extra = {"FENJI_TEST_RUN_PAUSE": pause} if pause else {}
    if pause_seconds is not None:
        extra["FENJI_TEST_RUN_PAUSE_SECONDS"] = str(pause_seconds)
    args = [sys.executable, str(CHILD), "--policy", POLICY, "--as-of", as_of.isoformat()]
    if series_to is not None:
        args += ["--to", series_to.isoformat()]
    proc = subprocess.Popen(
        args,
        env=child_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Child(proc)
