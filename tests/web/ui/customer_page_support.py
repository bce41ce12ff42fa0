"""Helpers of the customer page tests: addresses, HTMX requests, posting the page's forms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.test import Client
from django.utils import timezone

ClientAs = Callable[[str], Client]
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(cid: str, part: str = "") -> str:
    return f"/customers/{cid}/{part}"


def body(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def post_followup(client: Client, cid: str, **fields: str) -> object:
    data = {
        "kind": "call",
        "happened_on": timezone.localdate().isoformat(),
        "note": "电话确认二季度订货计划",
        "next_due": (timezone.localdate() + timedelta(days=14)).isoformat(),
    }
    data.update(fields)
    return client.post(url(cid, "followups/add/"), data, **HTMX)
