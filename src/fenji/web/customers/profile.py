"""Reading one customer's page: the labels of every published policy with their explanations,
their history, the metrics they were computed from, and the overrides.

Every read starts from the customer :func:`customer_get` found through the visibility rule
(:mod:`fenji.web.accounts.access`) and narrows its own query with ``scope`` again, so no part of
the page can show another rep's data even if a caller passes a customer it looked up by hand.

The labels, metrics and history are read in a fixed number of queries whatever the number of
runs or policies: the published policies with their runs in one query, the labels of every
published run in one, the metrics in one, the pending overrides in one, the label history of
every policy in one. The facts (revenue, orders, receivables, follow-ups) are read by
:mod:`fenji.web.customers.activity`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from fenji.engine.labels import label_order
from fenji.policy.dimensions import BandsDimension, ScorecardDimension, StarsDimension
from fenji.policy.models import Policy as PolicyModel
from fenji.web.accounts.access import scope, visible_customers
from fenji.web.customers.models import Customer
from fenji.web.evaluations.models import (
    EvaluationRun,
    Override,
    Publication,
    RunCustomer,
    RunResult,
    RunStatus,
)
from fenji.web.policies.models import PolicyVersion
from fenji.web.policies.selectors import parsed_version
from fenji.web.ui.language import active_lang
from fenji.web.ui.templatetags.fenji_ui import money, num, pct


def customer_get(*, user: Any, external_id: str) -> Customer:
    """The customer ``external_id`` if ``user`` may see it; raises ``Customer.DoesNotExist``
    otherwise, so that a view answers 404 alike for "no such customer" and "not yours"."""
    return visible_customers(user=user).get(external_id=external_id)


# --- policies, labels, metrics ------------------------------------------------------------


def policy_model(version: PolicyVersion) -> PolicyModel:
    """The parsed policy of a stored version (parsed once per text and process)."""
    return parsed_version(version)


def _is_number(value: Any) -> bool:
    try:
        Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    return True


def format_value(value: Any, unit: str) -> str:
    """A metric value (exact text from a run) as users read it, in the policy's unit; a value
    that is not a number (an attribute such as the industry) as it is."""
    if value is None or value == "":
        return "—"
    if not _is_number(value):
        return str(value)
    if unit == "yuan":
        return money(value)
    if unit == "ratio":
        return pct(value)
    suffix = {
        "percent": "%",
        "tonne": _(" t"),
        "year": _(" years"),
        "day": _(" days"),
        "month": _(" months"),
        "points": _(" points"),
    }.get(unit, "")
    return f"{num(value)}{suffix}"


def _gap_unit(policy: PolicyModel, spec: Any) -> str:
    """The unit a dimension's gap is measured in: its metric's for bands, points for a
    scorecard, a share for stars (a composite of ranks); other methods give the condition of
    the next label, or no gap."""
    if isinstance(spec, BandsDimension):
        metric = policy.metrics.get(spec.metric)
        return metric.unit if metric is not None else ""
    if isinstance(spec, ScorecardDimension):
        return "points"
    if isinstance(spec, StarsDimension):
        return "ratio"
    return ""


@dataclass(frozen=True)
class StrategyView:
    title: str
    service_level: str
    visit_every_days: int | None
    actions: list[str]


@dataclass(frozen=True)
class LabelView:
    """One dimension's label of the customer (and line) in the published run."""

    dimension: str
    dimension_title: str
    business_line: str
    business_line_code: str
    label: str | None
    label_title: str
    rank: int | None
    source: str
    why: str
    next_label: str
    next_rank: int | None
    #: How far the next label is, in the dimension's unit; for rules, the next label's
    #: condition (``gap_is_condition``).
    gap: str
    gap_is_condition: bool
    computed_label: str | None
    computed_rank: int | None
    held_runs: int
    downgrade_after: int | None
    override: Override | None
    strategy: StrategyView | None
    pending: Override | None = None


@dataclass(frozen=True)
class MetricView:
    name: str
    title: str
    business_line: str
    value: str
    raw: Any


@dataclass(frozen=True)
class LabelChange:
    """A label that differs from the one of the run before (or the first one)."""

    as_of: date
    label: str | None
    rank: int | None
    previous: str | None
    previous_rank: int | None
    computed_label: str | None
    source: str
    why: str

    @property
    def direction(self) -> str:
        if self.previous_rank is None or self.rank is None:
            return "first" if self.previous is None else "other"
        return "up" if self.rank < self.previous_rank else "down"


@dataclass(frozen=True)
class DimensionHistory:
    dimension: str
    dimension_title: str
    business_line: str
    #: (as-of date, label, rank) of every run, oldest first.
    steps: list[tuple[date, str | None, int | None]]
    #: Changes, newest first.
    changes: list[LabelChange]


@dataclass(frozen=True)
class DimensionChoice:
    """A dimension an override may set, with the labels it can give (best first)."""

    policy: str
    policy_title: str
    dimension: str
    dimension_title: str
    labels: list[str]
    business_lines: list[tuple[str, str]]


@dataclass(frozen=True)
class PendingOverride:
    """An override in force that the published run does not show yet (made after it)."""

    override: Override
    dimension_title: str


@dataclass
class PolicyPanel:
    """One published policy on the customer page."""

    name: str
    title: str
    version: int
    run: EvaluationRun | None
    per_line: bool
    labels: list[LabelView] = field(default_factory=list)
    metrics: list[MetricView] = field(default_factory=list)
    history: list[DimensionHistory] = field(default_factory=list)
    pending: list[PendingOverride] = field(default_factory=list)
    choices: list[DimensionChoice] = field(default_factory=list)


def _text(title: Any, fallback: str, lang: str) -> str:
    return title.get(lang) if title is not None else fallback


def _strategy(policy: PolicyModel, spec: Any, label: str | None, lang: str) -> StrategyView | None:
    info = spec.labels.get(label) if label is not None else None
    strategy = policy.strategies.get(info.strategy) if info and info.strategy else None
    if strategy is None:
        return None
    return StrategyView(
        title=_text(strategy.title, info.strategy, lang),  # type: ignore[union-attr]
        service_level=strategy.service_level or "",
        visit_every_days=strategy.visit_every_days,
        actions=list(strategy.actions),
    )


def _label_view(
    result: RunResult, policy: PolicyModel, lang: str, line_names: dict[int, str]
) -> LabelView:
    spec = policy.dimensions.get(result.dimension)
    order = label_order(spec) if spec is not None else []
    ranks = {label: i for i, label in enumerate(order)}
    info = spec.labels.get(result.label) if spec is not None and result.label else None
    gap, condition = "", False
    if result.gap and result.next_label and spec is not None:
        condition = not _is_number(result.gap)
        gap = result.gap if condition else format_value(result.gap, _gap_unit(policy, spec))
    return LabelView(
        dimension=result.dimension,
        dimension_title=_text(spec.title if spec else None, result.dimension, lang),
        business_line=line_names.get(result.business_line_id or 0, ""),
        business_line_code=result.business_line.code if result.business_line else "",
        label=result.label,
        label_title=_text(info.title if info else None, "", lang),
        rank=ranks.get(result.label or ""),
        source=result.source,
        why=result.why,
        next_label=result.next_label,
        next_rank=ranks.get(result.next_label),
        gap=gap,
        gap_is_condition=condition,
        computed_label=result.computed_label,
        computed_rank=ranks.get(result.computed_label or ""),
        held_runs=result.held_runs,
        downgrade_after=spec.hysteresis.downgrade_after if spec and spec.hysteresis else None,
        override=result.override if result.source == "override" else None,
        strategy=_strategy(policy, spec, result.label, lang) if spec is not None else None,
    )


@dataclass(frozen=True)
class _Entry:
    policy_id: int
    run_id: int
    as_of: date
    dimension: str
    business_line: str
    label: str | None
    computed_label: str | None
    source: str
    why: str


def _history_entries(
    *, user: Any, customer: Customer, policy_ids: list[int]
) -> dict[int, list[_Entry]]:
    """The customer's labels in every successful run of the policies, per policy, oldest
    first; of several runs of one as-of date, the last one — the rule of
    :func:`fenji.web.evaluations.selectors.label_history`, read for all policies in one
    query (that selector reads one policy per query, with a subquery per row: nine policies
    took 0.3 s on the demo, this one query a few milliseconds)."""
    rows = (
        scope(
            RunResult.objects.filter(
                customer=customer,
                run__policy_id__in=policy_ids,
                run__status__in=[RunStatus.PUBLISHED, RunStatus.SUPERSEDED],
            ),
            user=user,
        )
        .values_list(
            "run__policy_id",
            "run_id",
            "run__as_of",
            "dimension",
            "business_line__name",
            "business_line__code",
            "label",
            "computed_label",
            "source",
            "why",
        )
        .order_by("run__as_of", "run_id")
    )
    last_run: dict[tuple[int, date], int] = {}
    entries: list[_Entry] = []
    for policy_id, run_id, as_of, dim, line_name, line_code, label, computed, source, why in rows:
        last_run[(policy_id, as_of)] = max(run_id, last_run.get((policy_id, as_of), run_id))
        entries.append(
            _Entry(
                policy_id,
                run_id,
                as_of,
                dim,
                line_name or line_code or "",
                label,
                computed,
                source,
                why,
            )
        )
    out: dict[int, list[_Entry]] = defaultdict(list)
    for entry in entries:
        if last_run[(entry.policy_id, entry.as_of)] == entry.run_id:
            out[entry.policy_id].append(entry)
    return out


def _history(entries: list[_Entry], policy: PolicyModel, lang: str) -> list[DimensionHistory]:
    """Per dimension (and line), the label of every run and the changes between them."""
    grouped: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
    for entry in entries:
        grouped[(entry.dimension, entry.business_line)].append(entry)
    out: list[DimensionHistory] = []
    dimension_order = list(policy.dimensions)
    for (dim, line), rows in sorted(
        grouped.items(),
        key=lambda kv: (
            dimension_order.index(kv[0][0]) if kv[0][0] in dimension_order else 99,
            kv[0][1],
        ),
    ):
        spec = policy.dimensions.get(dim)
        ranks = {label: i for i, label in enumerate(label_order(spec))} if spec else {}
        changes: list[LabelChange] = []
        previous: str | None = None
        for i, row in enumerate(rows):
            if i == 0 or row.label != previous:
                changes.append(
                    LabelChange(
                        as_of=row.as_of,
                        label=row.label,
                        rank=ranks.get(row.label or ""),
                        previous=previous if i else None,
                        previous_rank=ranks.get(previous or "") if i else None,
                        computed_label=row.computed_label,
                        source=row.source,
                        why=row.why,
                    )
                )
            previous = row.label
        out.append(
            DimensionHistory(
                dimension=dim,
                dimension_title=_text(spec.title if spec else None, dim, lang),
                business_line=line,
                steps=[(r.as_of, r.label, ranks.get(r.label or "")) for r in rows],
                changes=list(reversed(changes)),
            )
        )
    return out


def _metrics(
    rows: list[RunCustomer], policy: PolicyModel, lang: str, line_names: dict[int, str]
) -> list[MetricView]:
    """The run's metric values, in the policy's order, titled from the policy."""
    out: list[MetricView] = []
    for row in sorted(rows, key=lambda r: line_names.get(r.business_line_id or 0, "")):
        values = row.metrics or {}
        names = [n for n in policy.metrics if n in values]
        names += sorted(n for n in values if n not in policy.metrics)
        for name in names:
            metric = policy.metrics.get(name)
            out.append(
                MetricView(
                    name=name,
                    title=_text(metric.title if metric else None, name, lang),
                    business_line=line_names.get(row.business_line_id or 0, ""),
                    value=format_value(values[name], metric.unit if metric else ""),
                    raw=values[name],
                )
            )
    return out


def _choices(
    name: str, policy: PolicyModel, lang: str, lines: list[tuple[str, str]]
) -> list[DimensionChoice]:
    title = _text(policy.title, name, lang)
    return [
        DimensionChoice(
            policy=name,
            policy_title=title,
            dimension=dim,
            dimension_title=_text(spec.title, dim, lang),
            labels=label_order(spec),
            business_lines=lines if policy.grain == "customer_line" else [],
        )
        for dim, spec in policy.dimensions.items()
    ]


def override_choices(*, user: Any, customer: Customer) -> list[DimensionChoice]:
    """What an override of this customer may set: every dimension of every published policy
    (the version ``override_create`` checks against), with the business lines the customer
    is graded in for policies graded per line. Two queries, without the page's other reads."""
    lang = active_lang()
    versions = list(
        PolicyVersion.objects.filter(is_published=True)
        .select_related("policy")
        .order_by("policy__name")
    )
    published_runs = Publication.objects.values("run_id")
    rows = (
        scope(
            RunResult.objects.filter(
                run_id__in=published_runs, customer=customer, business_line__isnull=False
            ),
            user=user,
        )
        .values_list("run__policy_id", "business_line__code", "business_line__name")
        .distinct()
    )
    lines: dict[int, dict[str, str]] = defaultdict(dict)
    for policy_id, code, name in rows:
        lines[policy_id][code] = name or code
    return [
        choice
        for version in versions
        for choice in _choices(
            version.policy.name,
            policy_model(version),
            lang,
            sorted(lines.get(version.policy_id, {}).items()),
        )
    ]


def active_overrides(*, user: Any, customer: Customer, today: date) -> QuerySet[Override]:
    """Overrides of the customer in force today or later (not revoked, not expired)."""
    rows = Override.objects.filter(customer=customer, revoked_at__isnull=True).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    return scope(rows, user=user).select_related("policy", "business_line", "author")


def policy_panels(*, user: Any, customer: Customer, today: date) -> list[PolicyPanel]:
    """Every published policy with the customer's labels, metrics and history in its
    published run, and the overrides that wait for the next run."""
    lang = active_lang()
    versions = list(
        PolicyVersion.objects.filter(is_published=True)
        .select_related("policy", "policy__publication__run__policy_version")
        .order_by("policy__name")
    )
    runs: dict[int, EvaluationRun] = {}
    for version in versions:
        publication = getattr(version.policy, "publication", None)
        if publication is not None:
            runs[version.policy_id] = publication.run
    run_ids = [run.pk for run in runs.values()]
    # Sorted here, not by the database: with an ORDER BY, SQLite (no statistics) would rather
    # read the run's (run, dimension, label) index in order than seek (run, customer).
    results = sorted(
        scope(RunResult.objects.filter(run_id__in=run_ids, customer=customer), user=user)
        .select_related("business_line", "override", "override__author")
        .order_by(),
        key=lambda r: (r.dimension, r.business_line.code if r.business_line else ""),
    )
    metric_rows = list(
        scope(
            RunCustomer.objects.filter(run_id__in=run_ids, customer=customer), user=user
        ).select_related("business_line")
    )
    pending = list(active_overrides(user=user, customer=customer, today=today))
    histories = _history_entries(user=user, customer=customer, policy_ids=list(runs))
    line_names = {
        r.business_line_id: str(r.business_line)
        for r in [*results, *metric_rows]
        if r.business_line_id is not None and r.business_line is not None
    }
    lines_by_run: dict[int, dict[str, str]] = defaultdict(dict)
    for r in results:
        if r.business_line is not None:
            lines_by_run[r.run_id][r.business_line.code] = str(r.business_line)

    panels: list[PolicyPanel] = []
    for version in versions:
        name = version.policy.name
        published = policy_model(version)
        run = runs.get(version.policy_id)
        graded = policy_model(run.policy_version) if run is not None else published
        panel = PolicyPanel(
            name=name,
            title=_text(graded.title, name, lang),
            version=run.policy_version.version if run is not None else version.version,
            run=run,
            per_line=graded.grain == "customer_line",
        )
        if run is not None:
            own = [r for r in results if r.run_id == run.pk]
            order = list(graded.dimensions)
            own.sort(key=lambda r: order.index(r.dimension) if r.dimension in order else 99)
            panel.labels = [_label_view(r, graded, lang, line_names) for r in own]
            rows = [m for m in metric_rows if m.run_id == run.pk]
            panel.metrics = _metrics(rows, graded, lang, line_names)
            panel.history = _history(histories.get(version.policy_id, []), graded, lang)
        applied = {v.override.pk for v in panel.labels if v.override is not None}
        waiting = [o for o in pending if o.policy_id == version.policy_id and o.pk not in applied]
        panel.pending = [
            PendingOverride(
                override=o,
                dimension_title=_text(
                    getattr(published.dimensions.get(o.dimension), "title", None),
                    o.dimension,
                    lang,
                ),
            )
            for o in waiting
        ]
        by_target = {
            (o.dimension, o.business_line.code if o.business_line else ""): o
            for o in reversed(waiting)
        }
        panel.labels = [_with_pending(v, by_target) for v in panel.labels]
        lines = sorted(lines_by_run.get(run.pk, {}).items()) if run is not None else []
        panel.choices = _choices(name, published, lang, lines)
        panels.append(panel)
    return panels


def override_is_applied(*, override: Override) -> bool:
    """Whether the published run of the override's policy shows it (a revocation then
    changes the label at the next run; otherwise it never showed)."""
    current = Publication.objects.filter(policy_id=override.policy_id).values("run_id")[:1]
    return RunResult.objects.filter(
        customer_id=override.customer_id, run_id=Subquery(current), override_id=override.pk
    ).exists()


def _with_pending(view: LabelView, pending: dict[tuple[str, str], Override]) -> LabelView:
    """Mark a label that an override not yet applied will replace at the next run (an
    override of one line first, then one of every line)."""
    match = pending.get((view.dimension, view.business_line_code)) or pending.get(
        (view.dimension, "")
    )
    if match is None:
        return view
    return LabelView(**{**view.__dict__, "pending": match})


__all__ = [
    "DimensionChoice",
    "LabelView",
    "PendingOverride",
    "PolicyPanel",
    "active_overrides",
    "customer_get",
    "format_value",
    "override_choices",
    "override_is_applied",
    "policy_model",
    "policy_panels",
]
