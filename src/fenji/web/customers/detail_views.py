"""The customer page (客户详情): profile, grades and why, history, metrics, revenue, orders,
receivables, follow-ups, and overrides.

Every view first requires ``customers.view``, then finds the customer through the visibility
rule — a customer the user may not see answers 404, for reading and for writing alike, so ids
do not leak — and only then checks the permission of an action (403). The forms post with
HTMX and get back the card they change; without HTMX they redirect to the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fenji.web.accounts.access import can, require, scope
from fenji.web.customers import activity, profile
from fenji.web.customers.detail_forms import (
    KIND_LABELS,
    FollowupForm,
    OverrideForm,
    followup_error,
    override_error,
    split_target,
)
from fenji.web.customers.models import Customer
from fenji.web.evaluations.errors import OverrideError, RunError
from fenji.web.evaluations.models import Override
from fenji.web.evaluations.selectors import published_run
from fenji.web.evaluations.services import override_create, override_revoke
from fenji.web.facts.followups import FollowupError, interaction_create
from fenji.web.facts.models import Interaction, Order, Receivable
from fenji.web.ui.paging import Page, page_number, page_of

#: Rows per page of the orders, receivables and follow-ups lists ("show more" adds a page).
PER_PAGE = {"orders": 20, "receivables": 10, "followups": 10}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _customer(request: HttpRequest, external_id: str) -> Customer:
    require(request.user, "customers.view")
    try:
        return profile.customer_get(user=request.user, external_id=external_id)
    except Customer.DoesNotExist:
        raise Http404(_("No such customer.")) from None


@dataclass(frozen=True)
class OrderRow:
    order: Order
    cancelled: bool


@dataclass(frozen=True)
class FollowupRow:
    followup: Interaction
    kind_label: str


@dataclass(frozen=True)
class ReceivableRow:
    receivable: Receivable
    state: str
    days_overdue: int


def _rows(page: Page[Any], rows: list[Any]) -> Page[Any]:
    """The same page with its items wrapped for the template."""
    return Page(
        items=rows, number=page.number, per_page=page.per_page, count=page.count, query=page.query
    )


def _list_page(
    part: str, *, request: HttpRequest, customer: Customer, number: int, today: date
) -> Page[Any]:
    user = request.user
    if part == "orders":
        orders = page_of(
            activity.orders_of(user=user, customer=customer), number=number, per_page=PER_PAGE[part]
        )
        return _rows(orders, [OrderRow(o, activity.is_cancelled(o.status)) for o in orders.items])
    if part == "receivables":
        page = page_of(
            activity.receivables_of(user=user, customer=customer),
            number=number,
            per_page=PER_PAGE[part],
        )
        rows = [
            ReceivableRow(
                receivable=r,
                state=activity.receivable_state(r, today=today),
                days_overdue=activity.days_overdue(r, today=today),
            )
            for r in page.items
        ]
        return _rows(page, rows)
    followups = page_of(
        activity.followups_of(user=user, customer=customer), number=number, per_page=PER_PAGE[part]
    )
    return _rows(
        followups,
        [FollowupRow(f, str(KIND_LABELS.get(f.kind, f.kind))) for f in followups.items],
    )


def _labels_context(
    request: HttpRequest,
    customer: Customer,
    *,
    today: date,
    override_form: OverrideForm | None = None,
    notice: str = "",
) -> dict[str, Any]:
    panels = profile.policy_panels(user=request.user, customer=customer, today=today)
    can_override = can(request.user, "override.manage")
    choices = [c for p in panels for c in p.choices]
    if can_override and override_form is None and choices:
        override_form = OverrideForm(choices=choices)
    return {
        "customer": customer,
        "panels": panels,
        "can_override": can_override,
        "override_form": override_form if can_override else None,
        "labels_notice": notice,
        "today": today,
    }


def _followups_context(
    request: HttpRequest,
    customer: Customer,
    *,
    today: date,
    form: FollowupForm | None = None,
    notice: str = "",
) -> dict[str, Any]:
    can_add = can(request.user, "followup.add")
    return {
        "customer": customer,
        "followups": _list_page(
            "followups", request=request, customer=customer, number=1, today=today
        ),
        "can_followup": can_add,
        "followup_form": (form or FollowupForm()) if can_add else None,
        "followups_notice": notice,
        "today": today,
    }


def _page_context(
    request: HttpRequest,
    customer: Customer,
    *,
    override_form: OverrideForm | None = None,
    followup_form: FollowupForm | None = None,
) -> dict[str, Any]:
    today = timezone.localdate()
    user = request.user
    summary = activity.facts_summary(user=user, customer=customer, today=today)
    revenue = activity.monthly_revenue(
        user=user, customer=customer, today=today, latest_order=summary.latest_order
    )
    labels = _labels_context(request, customer, today=today, override_form=override_form)
    panels = labels["panels"]
    return {
        **labels,
        # With many policies, history and metrics open on the first that has some.
        "first_history": next((p.name for p in panels if p.history), ""),
        "first_metrics": next((p.name for p in panels if p.run is not None), ""),
        **_followups_context(request, customer, today=today, form=followup_form),
        "summary": summary,
        "revenue": revenue,
        "revenue_option": activity.revenue_chart_option(revenue),
        "orders": _list_page("orders", request=request, customer=customer, number=1, today=today),
        "receivables": _list_page(
            "receivables", request=request, customer=customer, number=1, today=today
        ),
        "attributes": sorted((customer.attributes or {}).items()),
    }


def _detail_url(customer: Customer, anchor: str = "") -> str:
    url = reverse("customers:detail", args=[customer.external_id])
    return f"{url}#{anchor}" if anchor else url


@login_required
@require_GET
def customer_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = _customer(request, external_id)
    return render(request, "customers/detail.html", _page_context(request, customer))


@login_required
@require_GET
def customer_list_part(request: HttpRequest, external_id: str, part: str) -> HttpResponse:
    """The next page of the orders, receivables or follow-ups ("show more")."""
    customer = _customer(request, external_id)
    today = timezone.localdate()
    page = _list_page(
        part, request=request, customer=customer, number=page_number(request), today=today
    )
    return render(
        request,
        f"customers/detail_{part}_rows.html",
        {"customer": customer, part: page, "today": today},
    )


@login_required
@require_POST
def followup_add(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = _customer(request, external_id)
    require(request.user, "followup.add")
    form = FollowupForm(request.POST)
    if form.is_valid():
        try:
            interaction_create(user=request.user, customer=customer, **form.cleaned_data)
        except FollowupError as err:
            followup_error(form, err)
    if form.is_valid():
        notice = _("Follow-up recorded.")
        if not _is_htmx(request):
            messages.success(request, notice)
            return HttpResponseRedirect(_detail_url(customer, "followups"))
        context = _followups_context(request, customer, today=timezone.localdate(), notice=notice)
        return render(request, "customers/detail_followups.html", context)
    if _is_htmx(request):
        context = _followups_context(request, customer, today=timezone.localdate(), form=form)
        return render(request, "customers/detail_followups.html", context)
    return render(
        request,
        "customers/detail.html",
        _page_context(request, customer, followup_form=form),
        status=400,
    )


@login_required
@require_GET
def override_form(request: HttpRequest, external_id: str) -> HttpResponse:
    """The override form for the target chosen (its labels are that dimension's)."""
    customer = _customer(request, external_id)
    require(request.user, "override.manage")
    today = timezone.localdate()
    form = OverrideForm(
        choices=profile.override_choices(user=request.user, customer=customer),
        target=request.GET.get("target", ""),
    )
    return render(
        request,
        "customers/detail_override_form.html",
        {"customer": customer, "override_form": form, "today": today},
    )


def _effect_notice(policy: str, label: str) -> str:
    """Say when an override changes what the page shows: ``override_create`` records it for
    the runs to come and leaves the published run as it is, so at the next run, not now."""
    run = published_run(policy=policy)
    if run is None:
        return _(
            "Override saved: the label will be %(label)s from the first evaluation run of "
            "this policy."
        ) % {"label": label}
    return _(
        "Override saved: the label will be %(label)s from the next evaluation run. The "
        "current labels come from the run as of %(as_of)s and do not change until then."
    ) % {"label": label, "as_of": run.as_of.isoformat()}


@login_required
@require_POST
def override_add(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = _customer(request, external_id)
    require(request.user, "override.manage")
    today = timezone.localdate()
    form = OverrideForm(
        request.POST, choices=profile.override_choices(user=request.user, customer=customer)
    )
    notice = ""
    if form.is_valid():
        policy, dimension, line = split_target(form.cleaned_data["target"])
        try:
            override_create(
                policy=policy,
                customer=customer,
                dimension=dimension,
                label=form.cleaned_data["label"],
                reason=form.cleaned_data["reason"],
                expires_on=form.cleaned_data["expires_on"],
                user=request.user,
                business_line=line or None,
            )
        except (OverrideError, RunError) as err:
            override_error(form, err)
        else:
            notice = _effect_notice(policy, form.cleaned_data["label"])
    if notice and not _is_htmx(request):
        messages.success(request, notice)
        return HttpResponseRedirect(_detail_url(customer, "labels"))
    if _is_htmx(request):
        context = _labels_context(
            request, customer, today=today, override_form=None if notice else form, notice=notice
        )
        return render(request, "customers/detail_labels.html", context)
    return render(
        request,
        "customers/detail.html",
        _page_context(request, customer, override_form=form),
        status=400,
    )


@login_required
@require_POST
def override_revoke_view(request: HttpRequest, external_id: str, override_id: int) -> HttpResponse:
    customer = _customer(request, external_id)
    require(request.user, "override.manage")
    override = (
        scope(Override.objects.filter(customer=customer, pk=override_id), user=request.user)
        .select_related("policy")
        .first()
    )
    if override is None:
        raise Http404(_("No such override."))
    try:
        override_revoke(override=override, user=request.user, reason=request.POST.get("reason", ""))
    except OverrideError:
        notice = _("This override was already revoked.")
    else:
        if profile.override_is_applied(override=override):
            notice = _(
                "Override revoked: the next evaluation run gives the computed label again; the "
                "current labels do not change until then."
            )
        else:
            notice = _("Override revoked before any run applied it: the labels stay as computed.")
    if not _is_htmx(request):
        messages.success(request, notice)
        return HttpResponseRedirect(_detail_url(customer, "labels"))
    context = _labels_context(request, customer, today=timezone.localdate(), notice=notice)
    return render(request, "customers/detail_labels.html", context)
