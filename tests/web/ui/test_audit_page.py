"""The audit log page: administrators only; filters, paging, readable details, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fenji.web.accounts.models import AuditEntry
from fenji.web.accounts.services import audit

from ..ui_world import World

pytestmark = pytest.mark.django_db

ClientAs = Callable[[str], Client]


def _rows(response: Any) -> list[AuditEntry]:
    return [row["entry"] for row in response.context["rows"]]


def _csv(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def log(world: World) -> None:
    """A few known entries on top of what building the world recorded."""
    AuditEntry.objects.all().delete()
    audit(
        action="override.created",
        user=world.users["mgr_east"],
        object_type="override",
        object_id=7,
        details={"customer": "A-1", "label": "A", "reason": "战略客户", "dims": ["value"]},
    )
    audit(action="login", user=world.users["rep_a"], object_type="user", object_id="rep_a")
    audit(action="login.failed", actor="rep_b", object_type="user", object_id="rep_b")
    old = audit(action="policy.published", user=world.users["admin"], object_type="policy")
    AuditEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=40))


def test_administrator_reads_the_log_newest_first(client_as: ClientAs, log: None) -> None:
    response = client_as("admin").get("/audit/")
    assert response.status_code == 200
    actions = [e.action for e in _rows(response)]
    assert actions == ["login.failed", "login", "override.created", "policy.published"]
    page = response.content.decode()
    assert "审计日志" in page  # Chinese first


@pytest.mark.parametrize("login", ["mgr_east", "rep_a", "rep_b"])
def test_managers_and_reps_may_not_read_or_export_the_log(
    client_as: ClientAs, log: None, login: str
) -> None:
    client = client_as(login)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert not AuditEntry.objects.filter(action="audit.export").exists()


def test_anonymous_visitors_are_sent_to_login(world: World) -> None:
    response = Client().get("/audit/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "login"}, ["login"]),
        ({"actor": "MGR_EAST"}, ["override.created"]),
        ({"object_type": "user"}, ["login.failed", "login"]),
        ({"object_type": "user", "object_id": "rep_b"}, ["login.failed"]),
        ({"to": (timezone.localdate() - timedelta(days=30)).isoformat()}, ["policy.published"]),
        (
            {"from": (timezone.localdate() - timedelta(days=1)).isoformat(), "action": "login"},
            ["login"],
        ),
        (
            {"from": timezone.localdate().isoformat(), "to": timezone.localdate().isoformat()},
            ["login.failed", "login", "override.created"],
        ),
    ],
)
def test_filters_narrow_the_log(
    client_as: ClientAs, log: None, query: dict[str, str], expected: list[str]
) -> None:
    response = client_as("admin").get("/audit/", query)
    assert [e.action for e in _rows(response)] == expected


def test_bad_dates_are_reported_not_fatal(client_as: ClientAs, log: None) -> None:
    response = client_as("admin").get("/audit/", {"from": "2026-13-45", "to": "yesterday"})
    assert response.status_code == 200
    assert len(response.context["filters"].errors) == 2
    assert len(_rows(response)) == 4


def test_swapped_dates_are_put_in_order(client_as: ClientAs, log: None) -> None:
    today = timezone.localdate()
    response = client_as("admin").get(
        "/audit/", {"from": today.isoformat(), "to": (today - timedelta(days=50)).isoformat()}
    )
    assert len(_rows(response)) == 4
    assert response.context["filters"].errors


def test_details_are_shown_readably(client_as: ClientAs, log: None) -> None:
    response = client_as("admin").get("/audit/", {"action": "override.created"})
    details = dict(response.context["rows"][0]["details"])
    assert details == {"customer": "A-1", "label": "A", "reason": "战略客户", "dims": '["value"]'}
    page = response.content.decode()
    assert "战略客户" in page
    assert "\\u" not in page
    assert "人工调整" in page  # the action's readable title


def test_the_log_is_paged(world: World, client_as: ClientAs, log: None) -> None:
    AuditEntry.objects.bulk_create(
        AuditEntry(actor="cli", action="data.imported", object_type="import", object_id=str(n))
        for n in range(60)
    )
    client = client_as("admin")
    first = client.get("/audit/", {"action": "data.imported"})
    second = client.get("/audit/", {"action": "data.imported", "page": 2})
    assert len(_rows(first)) == 50
    assert len(_rows(second)) == 10
    assert {e.pk for e in _rows(first)}.isdisjoint({e.pk for e in _rows(second)})
    assert "action=data.imported" in first.content.decode()  # the next link keeps the filter


def test_empty_results_say_what_to_do(client_as: ClientAs, log: None) -> None:
    response = client_as("admin").get("/audit/", {"actor": "nobody"})
    assert _rows(response) == []
    assert response.context["filtered"]


def test_csv_export_follows_the_filters_and_is_audited(client_as: ClientAs, log: None) -> None:
    response = client_as("admin").get("/audit/export.csv", {"object_type": "user"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["time", "actor", "action", "object_type", "object_id", "details"]
    assert [r[2] for r in rows[1:]] == ["login.failed", "login"]
    exported = AuditEntry.objects.get(action="audit.export")
    assert exported.actor == "admin"
    assert exported.details == {"filters": {"object_type": "user"}}


def test_csv_export_keeps_chinese_and_defuses_formulas(
    world: World, client_as: ClientAs, log: None
) -> None:
    audit(action='=HYPERLINK("http://x")', actor="@evil", object_type="x", object_id="-1")
    rows = _csv(client_as("admin").get("/audit/export.csv"))
    hostile = next(r for r in rows if r[1].endswith("@evil"))
    assert hostile[1] == "'@evil"
    assert hostile[2].startswith("'=")
    assert hostile[4] == "'-1"
    override = next(r for r in rows if r[2] == "override.created")
    assert "战略客户" in override[5]


def test_audit_page_queries_are_pinned(
    world: World, client_as: ClientAs, log: None, django_assert_max_num_queries: Any
) -> None:
    AuditEntry.objects.bulk_create(
        AuditEntry(actor="cli", action="data.imported", details={"n": n}) for n in range(80)
    )
    client = client_as("admin")
    with django_assert_max_num_queries(8):
        assert client.get("/audit/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/audit/", {"action": "login", "page": 2}).status_code == 200
