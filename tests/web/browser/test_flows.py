"""The main flows of the web UI, in a real browser against ``fenji serve``: filtering the
customer list, a customer's page (labels, a follow-up, an override), editing, simulating and
publishing a policy, starting a run and following it to the end, importing a file with a bad
row. Each flow also checks what it did in the database, and saves screenshots of its pages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fenji.web.accounts.models import AuditEntry
from fenji.web.evaluations.models import EvaluationRun, Override, Publication
from fenji.web.facts.models import Interaction, Order
from fenji.web.policies.models import PolicyVersion

from ..runs_support import MAR, POLICY, POLICY_YAML
from .conftest import screenshot
from .test_login import charts_drawn

pytestmark = pytest.mark.django_db(transaction=True)

#: How long the slow steps may take on a loaded machine (milliseconds).
SLOW = 60_000
RUN_TIMEOUT = 90_000

ROWS = "[data-testid=customer-table] tbody tr td:first-child a"


def wait_for_rows(page: Any, expected: list[str]) -> None:
    """Wait until the customer list shows exactly these customer ids (in any order)."""
    page.wait_for_function(
        """([selector, expected]) => {
            const ids = [...document.querySelectorAll(selector)].map(a => a.textContent.trim());
            return JSON.stringify(ids.sort()) === JSON.stringify(expected);
        }""",
        arg=[ROWS, sorted(expected)],
    )


def query_param(page: Any, name: str) -> str | None:
    return page.evaluate("(name) => new URLSearchParams(location.search).get(name)", name)


def test_manager_filters_the_customer_list_by_label_and_search(
    login: Callable[..., Any], fenji_server: Any
) -> None:
    page = login("mgr_east")
    page.goto(f"{fenji_server.url}/customers/")
    wait_for_rows(page, ["A-1", "A-2", "A-3", "A2-1", "A2-2"])
    page.evaluate("window.fenjiSamePage = true")  # gone if a filter reloaded the whole page

    # February's value grades: B for the customers who sold 500 to 999 that month.
    page.select_option("#f-label", "value:B")
    wait_for_rows(page, ["A-1", "A-2", "A2-1"])
    page.wait_for_function("() => new URLSearchParams(location.search).get('label') === 'value:B'")

    page.fill("#f-q", "A2")
    wait_for_rows(page, ["A2-1"])
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === 'A2'")
    assert query_param(page, "label") == "value:B"
    assert page.evaluate("window.fenjiSamePage") is True, "the filters reloaded the page"

    export = page.locator("[data-testid=export-csv]")
    expect(export).to_be_visible()
    href = export.get_attribute("href")
    assert href is not None
    assert "q=A2" in href, href
    assert "label=value%3AB" in href, href
    body = page.request.get(f"{fenji_server.url}{href}").text()
    assert "A2-1" in body
    for other in ("A-1", "A-2", "A2-2", "B-"):
        assert other not in body, other

    # A search the manager's customers do not match: rep_b's ids show nothing.
    page.fill("#f-q", "B-1")
    expect(page.locator("[data-testid=empty]")).to_be_visible()
    assert query_param(page, "q") == "B-1"
    page.fill("#f-q", "")
    page.select_option("#f-label", "")
    wait_for_rows(page, ["A-1", "A-2", "A-3", "A2-1", "A2-2"])


def test_rep_opens_a_customer_sees_why_and_gap_and_adds_a_follow_up(
    login: Callable[..., Any], fenji_server: Any, company: Any
) -> None:
    page = login("rep_a")
    page.goto(f"{fenji_server.url}/customers/")
    page.click(f"{ROWS}:text-is('A-1')")
    page.wait_for_url(f"{fenji_server.url}/customers/A-1/")
    assert "A-1" in page.inner_text("[data-testid=customer-name]")

    # February: 600 of sales grades B (A from 1000); steady keeps January's A (held).
    value = page.locator("[data-testid=label-row][data-dimension=value]")
    assert value.get_attribute("data-label") == "B"
    assert "600" in value.locator("[data-testid=label-why]").inner_text()
    gap = value.locator("[data-testid=label-gap]").inner_text()
    assert "400" in gap, gap
    assert "A" in gap, gap
    steady = page.locator("[data-testid=label-row][data-dimension=steady]")
    assert steady.get_attribute("data-label") == "A"
    assert steady.get_attribute("data-source") == "held"
    expect(steady.locator("[data-testid=label-held]")).to_be_visible()
    charts_drawn(page)
    screenshot(page, "customer")

    today = timezone.localdate()
    note = "电话回访：确认三月订单，下周报价"
    page.click("#followup-form summary")
    page.select_option("#followup_kind", "call")
    page.fill("#followup_happened_on", today.isoformat())
    page.fill("#followup_note", note)
    page.fill("#followup_next_due", (today + timedelta(days=14)).isoformat())
    page.click("[data-testid=followup-save]")
    expect(page.locator("[data-testid=followups-notice]")).to_be_visible()
    first = page.locator("[data-testid=followup]").first
    expect(first).to_contain_text(note)
    expect(first).to_contain_text(today.isoformat())

    saved = Interaction.objects.get(customer__external_id="A-1", note=note)
    assert (saved.kind, saved.happened_on, saved.user) == ("call", today, company.users["rep_a"])
    assert saved.next_due == today + timedelta(days=14)
    # The page shows it after a reload too: it is stored, not only drawn.
    page.reload()
    expect(page.locator("[data-testid=followup]").first).to_contain_text(note)


def test_manager_overrides_a_label_with_reason_and_expiry(
    login: Callable[..., Any], fenji_server: Any, company: Any
) -> None:
    page = login("mgr_east")
    page.goto(f"{fenji_server.url}/customers/A-1/")
    page.click("#override summary")
    expect(page.locator("#override_target")).to_have_value(f"{POLICY}|value|")
    expires = timezone.localdate() + timedelta(days=90)
    reason = "年度框架协议已签，按 A 级服务"
    page.select_option("#override_label", "A")
    page.fill("#override_reason", reason)
    page.fill("#override_expires_on", expires.isoformat())
    page.click("[data-testid=override-save]")

    expect(page.locator("[data-testid=labels-notice]")).to_be_visible()
    pending = page.locator("[data-testid=pending-override]")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text(reason)
    expect(pending).to_contain_text(expires.isoformat())
    expect(pending).to_contain_text("mgr_east")
    screenshot(page, "customer-override")

    override = Override.objects.get(customer__external_id="A-1")
    assert (override.dimension, override.label, override.reason) == ("value", "A", reason)
    assert override.expires_on == expires
    assert override.author == company.users["mgr_east"]
    assert override.revoked_at is None
    assert AuditEntry.objects.filter(
        action="override.created", user=company.users["mgr_east"], object_id=str(override.pk)
    ).exists()


BROKEN_LINE = 19  # the value dimension's B band
BROKEN_YAML = POLICY_YAML.replace(
    "      - {label: B, min: 500}\n", "      - {label: B, min: lots}\n", 1
)
NEW_YAML = POLICY_YAML.replace(
    "      - {label: A, min: 1000}\n", "      - {label: A, min: 600}\n", 1
)


def test_admin_validates_simulates_and_publishes_a_policy_change(
    login: Callable[..., Any], fenji_server: Any, company: Any
) -> None:
    assert BROKEN_YAML.splitlines()[BROKEN_LINE - 1].endswith("min: lots}")
    assert NEW_YAML != POLICY_YAML
    page = login("admin")
    page.goto(f"{fenji_server.url}/policies/{POLICY}/edit/")

    page.fill("[data-testid=yaml]", BROKEN_YAML)
    page.click("[data-testid=validate]")
    issue = page.locator("[data-testid=issues] li")
    expect(issue).to_have_count(1)
    expect(issue).to_have_attribute("data-line", str(BROKEN_LINE))
    expect(issue).to_contain_text("lots")
    expect(page.locator("[data-testid=line-error]")).to_have_attribute("id", f"L{BROKEN_LINE}")
    screenshot(page, "policy-edit")

    page.fill("[data-testid=yaml]", NEW_YAML)
    page.click("[data-testid=validate]")
    expect(page.locator("[data-testid=valid]")).to_be_visible()
    expect(page.locator("[data-testid=issues]")).to_have_count(0)
    page.fill("#id_note", "A 档门槛降到 600")
    page.click("[data-testid=save]")
    page.wait_for_url(f"{fenji_server.url}/policies/{POLICY}/v2/")
    draft = PolicyVersion.objects.get(policy__name=POLICY, version=2)
    assert draft.yaml == NEW_YAML, repr(draft.yaml[:80])
    assert not draft.is_published

    page.locator(f"main a[href$='/{POLICY}/v2/simulate/']").first.click()
    page.wait_for_url(f"{fenji_server.url}/policies/{POLICY}/v2/simulate/")
    movers = page.locator("[data-testid=movers] tbody tr[data-dimension=value]")
    expect(movers.first).to_be_visible(timeout=SLOW)
    # At February's data, 600 to 999 of sales now grades A instead of B.
    moved = movers.evaluate_all(
        "rows => rows.map(r => [r.dataset.customer, r.dataset.from, r.dataset.to])"
    )
    assert sorted(moved) == [[c, "B", "A"] for c in ("A-1", "A-2", "A2-1", "B-2")], moved
    expect(
        page.locator("[data-testid=by-dimension] tr[data-dimension=value] [data-count=up]")
    ).to_have_text("4")
    screenshot(page, "policy-simulate")

    page.click(f".page-actions a[href$='/{POLICY}/v2/publish/']")
    page.wait_for_url(f"{fenji_server.url}/policies/{POLICY}/v2/publish/", timeout=SLOW)
    expect(page.locator("[data-testid=publish-summary]")).to_be_visible()
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.click("[data-testid=publish-form] button[type=submit]")
    page.wait_for_url(f"{fenji_server.url}/policies/{POLICY}/v2/?published=1")
    expect(page.locator("[data-testid=published-alert]")).to_be_visible()
    expect(page.locator("h1 [data-testid=status]")).to_have_text("已发布")
    assert len(questions) == 1, questions
    assert "4" in questions[0], questions

    draft.refresh_from_db()
    assert draft.is_published
    assert not PolicyVersion.objects.get(policy__name=POLICY, version=1).is_published
    assert AuditEntry.objects.filter(
        action="policy.published", user=company.users["admin"]
    ).exists()


def test_admin_starts_a_run_and_follows_it_to_the_diff(
    login: Callable[..., Any], fenji_server: Any, company: Any
) -> None:
    page = login("admin")
    page.goto(f"{fenji_server.url}/runs/")
    expect(page.locator("[data-testid=runs] tbody tr[data-run]")).to_have_count(2)
    page.click("[data-testid=start-run]")
    page.wait_for_url(f"{fenji_server.url}/runs/start/**")
    page.select_option("#id_policy", POLICY)
    page.fill("#id_as_of", MAR.isoformat())
    page.click("[data-testid=start-submit]")
    page.wait_for_url(f"{fenji_server.url}/runs/launch/**")

    # The page polls the run's progress until it is published.
    done = page.locator("[data-testid=run-done]")
    try:
        expect(done).to_be_visible(timeout=RUN_TIMEOUT)
    except AssertionError:
        raise AssertionError(
            f"the run did not finish: {page.inner_text('main')}\n{fenji_server.log_tail()}"
        ) from None
    expect(page.locator("[data-testid=run-progress]")).to_have_attribute("data-status", "published")
    screenshot(page, "run-progress")

    run = EvaluationRun.objects.get(policy__name=POLICY, as_of=MAR)
    assert run.status == "published"
    assert run.created_by == company.users["admin"]
    assert Publication.objects.get(policy__name=POLICY).run_id == run.pk

    page.click("[data-testid=diff-link]")
    page.wait_for_url(f"{fenji_server.url}/runs/{run.pk}/#diff")
    expect(page.locator("[data-testid=run-status]")).to_have_text("已发布")
    assert "orders" in page.inner_text("[data-testid=facts-read]")
    diff = page.locator("[data-testid=run-diff]")
    expect(diff.locator("h2")).to_contain_text(f"#{company.runs[-1].pk}")
    # March: A-2 sold 1200 (B -> A), A-1 sold 50 (B -> D).
    value = diff.locator("[data-testid=diff-summary] tr[data-dimension=value]")
    assert int(value.locator("[data-testid=upgrades]").inner_text()) >= 1
    assert int(value.locator("[data-testid=downgrades]").inner_text()) >= 1
    moved = diff.locator("[data-testid=movers] tbody tr[data-customer]").evaluate_all(
        "rows => rows.map(r => r.dataset.customer)"
    )
    assert {"A-1", "A-2"} <= set(moved), moved
    assert (
        diff.locator(
            "[data-testid=matrix][data-dimension=value] td[data-from=B][data-to=A]"
        ).inner_text()
        != "0"
    )
    screenshot(page, "run-detail")


HEADERS = ["订单编号", "客户编号", "业务线", "订单日期", "金额（元）", "数量", "渠道"]
GOOD_ROWS = [
    ["W-1", "A-1", "dairy", "2026年3月5日", "1.5万", "2", "direct"],
    ["W-2", "A-2", "drinks", "2026-03-06", "800", "1", "direct"],
]
BAD_ROW = ["W-3", "A-3", "dairy", "2026-13-45", "500", "1", "direct"]


def orders_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADERS, *rows])
    return out.getvalue().encode("utf-8")


def test_admin_imports_a_file_with_a_bad_row_and_gets_the_error_file(
    login: Callable[..., Any], fenji_server: Any, company: Any
) -> None:
    stored = Order.objects.count()
    page = login("admin")
    page.goto(f"{fenji_server.url}/imports/")
    page.select_option("#id_kind", "orders")
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "三月订单.csv",
                "mimeType": "text/csv",
                "buffer": orders_csv([GOOD_ROWS[0], BAD_ROW, GOOD_ROWS[1]]),
            }
        ],
    )
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(f"{fenji_server.url}/imports/*/")

    expect(page.locator("[data-testid=would-create]")).to_have_text("2")
    expect(page.locator("[data-testid=would-reject]")).to_have_text("1")
    problems = page.locator("[data-testid=issues] tbody tr")
    expect(problems).to_have_count(1)
    expect(problems).to_contain_text("2026-13-45")
    screenshot(page, "import-check")

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=confirm]")
    expect(page.locator("[data-testid=rejected]")).to_be_visible()
    expect(page.locator("[data-testid=rejected-count]")).to_have_text("1")
    assert Order.objects.count() == stored
    assert not Order.objects.filter(external_id__in=["W-1", "W-2", "W-3"]).exists()
    assert AuditEntry.objects.filter(action="data.import_rejected").count() == 1

    with page.expect_download() as download_info:
        page.click("[data-testid=error-file]")
    download = download_info.value
    path = download.path()
    assert path is not None
    text = Path(path).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2, rows  # the header and the bad row
    assert rows[1][: len(BAD_ROW)] == BAD_ROW, rows
    assert "W-1" not in text
    assert "W-2" not in text
