"""Logging in through the browser as each role, what each role's dashboard shows, and the
language switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

#: login -> (role as the page names it, customers the role sees)
ROLES = {
    "admin": ("管理员", ["A-1", "A-2", "A-3", "A2-1", "A2-2", "B-1", "B-2", "B-3"]),
    "mgr_east": ("经理", ["A-1", "A-2", "A-3", "A2-1", "A2-2"]),
    "rep_a": ("销售代表", ["A-1", "A-2", "A-3"]),
}


def charts_drawn(page: Any) -> int:
    """Wait until every chart container of the page holds a drawn canvas; how many there are."""
    page.wait_for_function(
        "() => { const c = document.querySelectorAll('[data-chart]');"
        " return c.length > 0 && [...c].every(e => e.querySelector('canvas')); }"
    )
    return page.locator("[data-chart]").count()


def listed_customers(page: Any) -> list[str]:
    """The customer ids in the first column of the customer list."""
    return page.locator("[data-testid=customer-table] tbody tr td:first-child a").all_inner_texts()


def test_each_role_logs_in_and_sees_its_dashboard_and_customers(
    login: Callable[..., Any], fenji_server: Any
) -> None:
    # One company for the three roles: building it is the slow part of a browser test.
    for user, (role, customers) in ROLES.items():
        page = login(user)
        assert role in page.inner_text("[data-testid=who]"), user
        # Distribution, revenue, Pareto, migration and history: each an ECharts canvas.
        assert charts_drawn(page) == 5, user
        assert page.inner_text("[data-testid=kpi-customers] .kpi-value") == str(len(customers))
        if user == "admin":
            screenshot(page, "dashboard")
        dashboard = page.inner_text("main")
        movers = page.locator("[data-customer]").evaluate_all(
            "rows => rows.map(r => r.dataset.customer)"
        )
        assert movers, f"{user}: the dashboard lists no movers"
        assert set(movers) <= set(customers), (user, movers)

        page.goto(f"{fenji_server.url}/customers/")
        assert sorted(listed_customers(page)) == customers, user
        if user == "mgr_east":
            screenshot(page, "customers")
        if user == "rep_a":
            # Nothing of rep_b's portfolio: no id, no name, on either page.
            for text in (dashboard, page.inner_text("main")):
                assert "B-" not in text
                assert "北京" not in text
        page.context.close()


def test_wrong_password_is_refused(
    company: Any, fenji_server: Any, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    page.goto(f"{fenji_server.url}/login/")
    screenshot(page, "login")
    page.fill("#id_username", "rep_a")
    page.fill("#id_password", "not-the-password")
    page.click("[data-testid=login-submit]")
    assert "密码错误" in page.inner_text("[data-testid=login-error]")


def test_language_switches_to_english_and_back(login: Callable[..., Any]) -> None:
    page = login("rep_a")
    assert page.inner_text("h1") == "仪表盘"
    assert "按标签的客户分布" in page.inner_text("[data-testid=distribution] h2")
    page.click("[data-testid=lang-en]")
    page.wait_for_selector("[data-testid=lang-zh]")
    assert "/dashboard/" in page.url
    assert "sales rep" in page.inner_text("[data-testid=who]")
    assert page.inner_text("h1") == "Dashboard"
    headings = page.locator("main h2").all_inner_texts()
    for heading in ("Customers by label", "Revenue share by label", "Labels over time"):
        assert heading in headings, headings
    assert page.inner_text("[data-testid=kpi-revenue] .kpi-label") == "Revenue"
    charts_drawn(page)
    screenshot(page, "dashboard-en")
    page.click("[data-testid=lang-zh]")
    page.wait_for_selector("[data-testid=lang-en]")
    assert "销售代表" in page.inner_text("[data-testid=who]")
    assert page.inner_text("h1") == "仪表盘"
