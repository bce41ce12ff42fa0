"""The customer page's dealings: revenue per month and line, orders, receivables, and
follow-ups (listed, added with HTMX, audited, validated)."""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fenji.engine.windows import add_months
from fenji.web.accounts.models import AuditEntry
from fenji.web.customers.activity import CHART_MONTHS, monthly_revenue
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.facts.models import Interaction, Order, Receivable

from ..ui_world import World
from .customer_page_support import HTMX, ClientAs, body, post_followup, url

pytestmark = pytest.mark.django_db


# --- follow-ups ----------------------------------------------------------------------------


def test_a_rep_adds_a_follow_up_that_is_audited_and_listed(
    world: World, client_as: ClientAs
) -> None:
    response = post_followup(client_as("rep_a"), "A-1", note="拜访采购部王经理")
    assert response.status_code == 200
    created = Interaction.objects.get(note="拜访采购部王经理")
    assert (created.customer.external_id, created.user, created.kind) == (
        "A-1",
        world.users["rep_a"],
        "call",
    )
    assert created.next_due == timezone.localdate() + timedelta(days=14)
    assert AuditEntry.objects.filter(
        action="followup.created", object_id=str(created.pk), actor="rep_a"
    ).exists()
    text = body(response)
    assert 'data-testid="followups-notice"' in text
    first = text.split('data-testid="followup"', 1)[1].split("</li>", 1)[0]
    assert "拜访采购部王经理" in first


def test_without_htmx_a_follow_up_redirects_to_the_page(world: World, client_as: ClientAs) -> None:
    client = client_as("mgr_east")
    response = client.post(
        url("A2-1", "followups/add/"),
        {"kind": "visit", "happened_on": timezone.localdate().isoformat(), "note": "上门"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/customers/A2-1/#followups")
    assert Interaction.objects.filter(customer__external_id="A2-1", note="上门").exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"happened_on": "2999-01-01"}, "happened_on"),
        ({"happened_on": ""}, "happened_on"),
        ({"next_due": "2000-01-01"}, "next_due"),
        ({"kind": "telepathy"}, "kind"),
        ({"note": "很长" * 3000}, "note"),
    ],
)
def test_a_bad_follow_up_is_refused_beside_the_field_and_writes_nothing(
    world: World, client_as: ClientAs, fields: dict[str, str], field: str
) -> None:
    count = Interaction.objects.count()
    response = post_followup(client_as("rep_a"), "A-1", **fields)
    assert response.status_code == 200
    form = body(response).split('data-testid="followup-form"', 1)[1]
    assert re.search(rf'id="followup_{field}".*?<ul class="errorlist', form, re.S), field
    assert Interaction.objects.count() == count
    assert not AuditEntry.objects.filter(action="followup.created").exists()


# --- revenue, orders, receivables ----------------------------------------------------------


def _expected_months(cid: str, end: date) -> dict[tuple[date, str], Decimal]:
    start = add_months(end.replace(day=1), -(CHART_MONTHS - 1))
    sums: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for order in Order.objects.filter(customer__external_id=cid).select_related("business_line"):
        if order.status.strip().lower() in {"cancelled", "已取消", "void"}:
            continue
        if start <= order.order_date < add_months(end.replace(day=1), 1):
            line = order.business_line.name if order.business_line else "未分业务线"
            sums[(order.order_date.replace(day=1), line)] += order.amount
    return sums


def test_monthly_revenue_sums_the_orders_per_month_and_line(
    world: World, client_as: ClientAs
) -> None:
    a1 = world.customers["A-1"]
    dairy = BusinessLine.objects.get(code="dairy")
    today = timezone.localdate()
    # given, besides the world's orders: a second line, cents, a return, a cancelled order,
    # and an order older than the chart
    Order.objects.bulk_create(
        [
            Order(
                external_id="X-1",
                customer=a1,
                business_line=dairy,
                order_date=date(2026, 2, 3),
                amount=Decimal("250.1234"),
            ),
            Order(
                external_id="X-2",
                customer=a1,
                business_line=dairy,
                order_date=date(2026, 2, 27),
                amount=Decimal("-50.1200"),
            ),
            Order(
                external_id="X-3",
                customer=a1,
                business_line=dairy,
                order_date=date(2026, 2, 5),
                amount=Decimal("99999"),
                status=" Cancelled ",
            ),
            Order(
                external_id="X-4",
                customer=a1,
                business_line=dairy,
                order_date=date(2026, 3, 5),
                amount=Decimal("88888"),
                status="已取消",
            ),
            Order(
                external_id="X-5",
                customer=a1,
                business_line=None,
                order_date=date(2026, 3, 6),
                amount=Decimal("10.5"),
            ),
            Order(
                external_id="X-6",
                customer=a1,
                business_line=dairy,
                order_date=add_months(today, -CHART_MONTHS),
                amount=Decimal("777"),
            ),
        ]
    )
    revenue = monthly_revenue(
        user=world.users["rep_a"], customer=a1, today=today, latest_order=date(2026, 4, 10)
    )
    got = {
        (month, s.line): value
        for s in revenue.series
        for month, value in zip(revenue.months, s.values, strict=True)
        if value
    }
    expected = _expected_months("A-1", today)
    assert got == {k: v for k, v in expected.items() if v}
    assert got[(date(2026, 2, 1), "乳品")] == Decimal("200.0034")
    assert revenue.months[-1] == today.replace(day=1)
    assert len(revenue.months) == CHART_MONTHS
    assert revenue.total == sum(expected.values(), Decimal(0))
    # the page's chart carries the same numbers, stacked by line
    text = body(client_as("rep_a").get(url("A-1")))
    # the chart's option travels as escaped JSON text in a hidden element (ui/_chart.html)
    option = json.loads(
        html.unescape(text.split('<div id="chart-revenue" hidden>')[1].split("</div>")[0])
    )
    assert option["xAxis"]["data"][-1] == f"{today:%Y-%m}"
    assert {s["stack"] for s in option["series"]} == {"revenue"}
    charted = {
        (m, s["name"]): v
        for s in option["series"]
        for m, v in zip(option["xAxis"]["data"], s["data"], strict=True)
        if v
    }
    assert charted == {(f"{m:%Y-%m}", line): float(round(v, 2)) for (m, line), v in got.items()}


def test_the_revenue_chart_ends_at_the_latest_order_when_there_is_none_in_24_months(
    world: World,
) -> None:
    a1 = world.customers["A-1"]
    today = date(2030, 6, 15)
    revenue = monthly_revenue(
        user=world.users["admin"], customer=a1, today=today, latest_order=date(2026, 4, 10)
    )
    assert revenue.months[-1] == date(2026, 4, 1)
    assert revenue.ends_at_latest_order == date(2026, 4, 10)
    assert revenue.total == sum((o.amount for o in Order.objects.filter(customer=a1)), Decimal(0))


def test_a_customer_without_orders_has_an_empty_chart_that_says_so(
    world: World, client_as: ClientAs
) -> None:
    Customer.objects.create(external_id="A-新", name="新客户", owner="rep_a")
    response = client_as("rep_a").get("/customers/A-新/")
    assert response.status_code == 200
    text = body(response)
    assert 'data-testid="revenue-empty"' in text
    assert 'data-testid="followups-empty"' in text


def test_orders_are_latest_first_and_show_more_adds_the_next_page(
    world: World, client_as: ClientAs
) -> None:
    a1 = world.customers["A-1"]
    Order.objects.bulk_create(
        [
            Order(
                external_id=f"M-{i:02d}",
                customer=a1,
                order_date=date(2025, 1, 1) + timedelta(i),
                amount=Decimal(i + 1),
            )
            for i in range(30)
        ]
    )
    client = client_as("rep_a")
    text = body(client.get(url("A-1")))
    first = re.findall(r'data-testid="order-row" data-order="([^"]+)"', text)
    every = list(
        Order.objects.filter(customer=a1)
        .order_by("-order_date", "-id")
        .values_list("external_id", flat=True)
    )
    assert first == every[:20]
    assert 'data-testid="more-orders"' in text
    more = body(client.get(url("A-1", "orders/") + "?page=2", **HTMX))
    assert re.findall(r'data-order="([^"]+)"', more) == every[20:]
    assert 'data-testid="more-orders"' not in more


def test_open_and_overdue_receivables_are_marked(world: World, client_as: ClientAs) -> None:
    a1 = world.customers["A-1"]
    today = timezone.localdate()
    Receivable.objects.bulk_create(
        [
            Receivable(
                external_id="R-late",
                customer=a1,
                due_date=today - timedelta(days=10),
                amount=Decimal("123456"),
            ),
            Receivable(
                external_id="R-open",
                customer=a1,
                due_date=today + timedelta(days=10),
                amount=Decimal("800"),
            ),
        ]
    )
    text = body(client_as("rep_a").get(url("A-1")))
    states = dict(re.findall(r'data-receivable="([^"]+)" data-state="([^"]+)"', text))
    assert states == {"R-late": "overdue", "R-open": "open", "A-1-R1": "paid"}
    assert "12.35万元" in text.split('data-receivable="R-late"')[1].split("</tr>")[0]
    overdue = text.split('data-testid="kpi-overdue"')[1].split("</div>")[0]
    assert "12.35万元" in overdue
    opened = text.split('data-testid="kpi-open"')[1].split("</div>")[0]
    assert "12.43万元" in opened
