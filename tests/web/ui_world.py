"""A small company with every role, for the web UI's tests.

Two teams: 华东 (East) with manager ``mgr_east`` and reps ``rep_a`` and ``rep_a2``; 华北 (North)
with rep ``rep_b``; and ``admin``. Each rep owns customers whose external ids start with their
own marker (``A-``, ``A2-``, ``B-``), so a test can tell at a glance whose data leaked. Orders
over four month-ends, receivables, follow-ups, and two published runs of the ``runs_test``
policy (value and steady grades), so every page has something to show.

Passwords are ``<login>-pass``; tests that do not test logging in use ``client.force_login``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from fenji.web.accounts.models import Membership, Role, Team
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations.models import EvaluationRun
from fenji.web.evaluations.services import evaluation_run_start
from fenji.web.facts.models import Interaction, Order, Receivable

from .runs_support import FEB, JAN, MAR, MONTHS, POLICY, publish_policy

#: login -> (role, team)
USERS: dict[str, tuple[str, str | None]] = {
    "admin": (Role.ADMIN, None),
    "mgr_east": (Role.MANAGER, "华东"),
    "rep_a": (Role.REP, "华东"),
    "rep_a2": (Role.REP, "华东"),
    "rep_b": (Role.REP, "华北"),
}

#: owner -> (id prefix, industry, region, monthly sales of each customer)
PORTFOLIOS: dict[str, tuple[str, str, str, list[tuple[int, int, int, int]]]] = {
    "rep_a": (
        "A-",
        "制造",
        "上海",
        [(1200, 600, 50, 1500), (600, 600, 1200, 600), (300, 300, 300, 300)],
    ),
    "rep_a2": ("A2-", "零售", "杭州", [(1500, 700, 1300, 800), (50, 150, 550, 1100)]),
    "rep_b": (
        "B-",
        "医药",
        "北京",
        [(5000, 4000, 3000, 2000), (900, 950, 990, 2000), (20, 10, 5, 0)],
    ),
}


@dataclass
class World:
    users: dict[str, Any]
    customers: dict[str, Customer]
    runs: list[EvaluationRun] = field(default_factory=list)
    policy: str = POLICY

    def ids_of(self, owner: str) -> list[str]:
        return sorted(c.external_id for c in self.customers.values() if c.owner == owner)


@functools.cache
def _password_hash(login: str) -> str:
    """Argon2 hashes cost a tenth of a second each: made once per test process."""
    return make_password(f"{login}-pass")


def load_world() -> World | None:
    """The world already in the database (built and committed earlier), or None."""
    model = get_user_model()
    users = {u.username: u for u in model.objects.filter(username__in=list(USERS))}
    if len(users) != len(USERS):
        return None
    customers = {c.external_id: c for c in Customer.objects.all()}
    runs = list(EvaluationRun.objects.filter(policy__name=POLICY).order_by("as_of", "id"))
    return World(users=users, customers=customers, runs=runs)


def build_world(*, runs: tuple[date, ...] = (JAN, FEB)) -> World:
    model = get_user_model()
    teams = {name: Team.objects.create(name=name) for name in {"华东", "华北"}}
    users: dict[str, Any] = {}
    for login, (role, team) in USERS.items():
        user = model.objects.create_user(username=login, password=None)
        user.password = _password_hash(login)
        user.save(update_fields=["password"])
        Membership.objects.create(user=user, role=role, team=teams[team] if team else None)
        users[login] = user
    lines = [
        BusinessLine.objects.create(code="dairy", name="乳品"),
        BusinessLine.objects.create(code="drinks", name="饮料"),
    ]
    customers: dict[str, Customer] = {}
    orders: list[Order] = []
    receivables: list[Receivable] = []
    interactions: list[Interaction] = []
    for owner, (prefix, industry, region, portfolio) in PORTFOLIOS.items():
        for n, sales in enumerate(portfolio, start=1):
            cid = f"{prefix}{n}"
            customer = Customer.objects.create(
                external_id=cid,
                name=f"{region}{industry}客户{cid}",
                industry=industry,
                region=region,
                scale="中型",
                owner=owner,
                first_deal_date=date(2024, 1, n),
                tags=["重点"] if n == 1 else [],
            )
            customers[cid] = customer
            for month, amount in zip(MONTHS, sales, strict=True):
                if amount:
                    orders.append(
                        Order(
                            external_id=f"{cid}-{month:%m}",
                            customer=customer,
                            business_line=lines[n % 2],
                            order_date=month.replace(day=10),
                            amount=Decimal(amount),
                            quantity=Decimal(1),
                            channel="direct",
                        )
                    )
            receivables.append(
                Receivable(
                    external_id=f"{cid}-R1",
                    customer=customer,
                    business_line=lines[0],
                    due_date=date(2026, 2, 20),
                    amount=Decimal(sales[0]),
                    paid_date=None if n == 2 else date(2026, 2, 18),
                )
            )
            interactions.append(
                Interaction(
                    customer=customer,
                    kind=Interaction.Kind.VISIT,
                    happened_on=JAN,
                    user=users[owner],
                    note=f"拜访 {cid}",
                )
            )
    Order.objects.bulk_create(orders)
    Receivable.objects.bulk_create(receivables)
    Interaction.objects.bulk_create(interactions)
    publish_policy()
    world = World(users=users, customers=customers)
    for as_of in runs:
        world.runs.append(evaluation_run_start(policy=POLICY, as_of=as_of))
    return world


__all__ = ["FEB", "JAN", "MAR", "USERS", "World", "build_world"]
