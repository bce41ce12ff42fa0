"""Shapes of the API's answers and requests (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class Paged(Schema):
    count: int = Field(description="rows matching the filters (all pages)")
    limit: int
    offset: int


class CustomerOut(Schema):
    external_id: str
    name: str
    industry: str
    region: str
    scale: str
    owner: str
    first_deal_date: date | None
    influence: str
    tags: list[str]


class CustomerPage(Paged):
    items: list[CustomerOut]


class LabelOut(Schema):
    """A customer's current label in one dimension of a published policy, and why."""

    policy: str
    run_id: int
    as_of: date
    dimension: str
    business_line: str | None
    label: str | None
    computed_label: str | None
    source: str = Field(description="computed, held (hysteresis) or override")
    score: float | None
    why: str
    next_label: str
    gap: str


class CustomerDetail(CustomerOut):
    attributes: dict[str, Any]
    labels: list[LabelOut]


class HistoryOut(Schema):
    policy: str
    as_of: date
    run_id: int
    dimension: str
    business_line: str | None
    label: str | None
    computed_label: str | None
    source: str
    why: str


class PolicyOut(Schema):
    name: str
    title: str
    published_version: int | None
    published_run_id: int | None
    published_as_of: date | None


class PolicyVersionOut(Schema):
    version: int
    created_at: datetime
    created_by: str | None
    note: str
    is_published: bool
    published_at: datetime | None


class PolicyDetail(PolicyOut):
    yaml: str | None = Field(description="the published version's text")
    versions: list[PolicyVersionOut]


class RunOut(Schema):
    id: int
    policy: str
    version: int
    as_of: date
    status: str
    progress: float
    stage: str
    started_at: datetime
    finished_at: datetime | None
    published_at: datetime | None


class RunPage(Paged):
    items: list[RunOut]


class LabelCount(Schema):
    label: str | None
    count: int


class DimensionCounts(Schema):
    dimension: str
    title: str
    labels: list[LabelCount]


class RunCounts(Schema):
    """Counted over the customers the caller may see."""

    customers: int
    results: int
    held: int
    overridden: int


class RunDetail(RunOut):
    error: str
    counts: RunCounts
    summary: list[DimensionCounts]


class MoveOut(Schema):
    customer_id: str
    customer_name: str
    business_line: str | None
    dimension: str
    from_label: str
    to_label: str
    steps: int | None = Field(description="levels moved: positive up, negative down")
    why_before: str
    why_after: str
    source_before: str
    source_after: str


class DimensionDiffOut(Schema):
    dimension: str
    title: str
    labels: list[str]
    upgrades: int
    downgrades: int
    unchanged: int
    changed_unranked: int
    entered: int
    left: int
    matrix: dict[str, dict[str, int]]


class RunDiffOut(Schema):
    run_id: int
    previous_id: int | None
    policy: str
    as_of: date
    previous_as_of: date | None
    dimensions: list[DimensionDiffOut]
    movers: list[MoveOut]
    movers_total: int
    limit: int
    offset: int


class OverrideIn(Schema):
    policy: str
    customer: str = Field(description="the customer's external id")
    dimension: str
    label: str
    reason: str
    expires_on: date | None = None
    business_line: str | None = Field(default=None, description="business line code")


class OverrideOut(Schema):
    id: int
    policy: str
    customer: str
    business_line: str | None
    dimension: str
    label: str
    reason: str
    expires_on: date | None
    author: str | None
    created_at: datetime
    revoked_at: datetime | None
