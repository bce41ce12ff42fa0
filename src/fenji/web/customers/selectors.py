"""Reading the customer list: filters, search, sorting, and what a page of rows shows.

This is the one entry for "which customers match these filters, in which order" — the list
page, its exports and the REST API all call :func:`customer_list`, so a filter means the same
thing everywhere and every caller starts from :func:`~fenji.web.accounts.access.visible_customers`.

How the list stays fast at 100,000 customers:

- :func:`customer_list` returns a lazy query; a page costs one COUNT and one LIMIT/OFFSET query.
  Sorting by a customer column uses a ``(column, external_id)`` index, so a page is an index
  range scan; sorting by revenue or label computes one correlated subquery per matching row.
- What a page shows beyond the customer row (labels of the published run, revenue, last
  follow-up) is read by :func:`customer_rows` for the ids of that page only: three queries
  whatever the page size or the number of customers.
- The published run is resolved once per request (:func:`published_gradings`), and every query
  of the request names that run's id, so a run published meanwhile cannot mix into one page.

Filter choices (:func:`filter_choices`) are read from the visible customers only, so a rep never
learns another rep's owners, industries, regions, tags or business lines from a dropdown.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import NotSupportedError, connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    Expression,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.lookups import In
from django.utils.translation import gettext as _

from fenji.engine.labels import label_order
from fenji.policy.validate import parse_policy
from fenji.web.accounts.access import scope, visible_customers, visible_owners
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.evaluations.models import Publication, RunCustomer, RunResult
from fenji.web.facts.models import Interaction, Order
from fenji.web.ui.language import active_lang

#: Sort keys of the list; ``label:<dimension>`` sorts by that dimension's tier, best first.
FIELD_SORTS: dict[str, str] = {
    "id": "external_id",
    "name": "name",
    "owner": "owner",
    "industry": "industry",
    "region": "region",
}
SORTS: tuple[str, ...] = (*FIELD_SORTS, "revenue", "label")
MAX_SEARCH = 100


# --- the published gradings the list can show -------------------------------------------------


@dataclass(frozen=True)
class DimensionInfo:
    """A dimension of a published policy: its title and its labels, best first."""

    name: str
    title_zh: str
    title_en: str
    labels: tuple[str, ...]

    @property
    def title(self) -> str:
        english = active_lang() == "en"
        return (self.title_en or self.title_zh) if english else self.title_zh

    def rank(self, label: str | None) -> int | None:
        """0 for the best tier; ``None`` for a label the policy does not list."""
        try:
            return self.labels.index(label) if label is not None else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Grading:
    """A published policy as the list reads it: the run its publication points to and the
    dimensions of the policy version that run evaluated."""

    policy: str
    title: str
    run_id: int
    as_of: date
    per_line: bool
    dimensions: tuple[DimensionInfo, ...]

    def dimension(self, name: str) -> DimensionInfo | None:
        return next((d for d in self.dimensions if d.name == name), None)


@functools.lru_cache(maxsize=64)
def _parsed_dimensions(version_id: int, yaml_text: str) -> tuple[bool, tuple[DimensionInfo, ...]]:
    """Dimensions of a stored policy version; versions never change once saved, so the parse
    is kept per version (the text is part of the key all the same)."""
    parsed = parse_policy(yaml_text, file=f"policy version {version_id}")
    dims = tuple(
        DimensionInfo(
            name=name,
            title_zh=spec.title.zh if spec.title else name,
            title_en=spec.title.en if spec.title else name,
            labels=tuple(label_order(spec)),
        )
        for name, spec in parsed.dimensions.items()
    )
    return parsed.grain == "customer_line", dims


def published_gradings() -> list[Grading]:
    """Every published policy with its published run, by policy name (one query)."""
    publications = (
        Publication.objects.select_related("policy", "run", "run__policy_version")
        .only(
            "policy__name",
            "policy__title",
            "run__as_of",
            "run__policy_version__yaml",
        )
        .order_by("policy__name")
    )
    gradings = []
    for pub in publications:
        version = pub.run.policy_version
        per_line, dims = _parsed_dimensions(version.pk, version.yaml)
        gradings.append(
            Grading(
                policy=pub.policy.name,
                title=pub.policy.title or pub.policy.name,
                run_id=pub.run_id,
                as_of=pub.run.as_of,
                per_line=per_line,
                dimensions=dims,
            )
        )
    return gradings


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFilters:
    """What the user asked the list for. Empty strings mean "any".

    ``grading`` is the published policy whose labels and revenue the list shows (and which
    ``dimension``/``label`` and the revenue and label sorts refer to); ``None`` when no policy
    is published yet. ``sort`` is one of :data:`SORTS`; ``sort_dimension`` names the dimension
    of the ``label`` sort. Ties are broken by external id in the same direction, so the order
    is total and pages never repeat or skip a customer."""

    q: str = ""
    owner: str = ""
    industry: str = ""
    region: str = ""
    business_line: str = ""
    tag: str = ""
    grading: Grading | None = None
    dimension: str = ""
    label: str = ""
    sort: str = "id"
    sort_dimension: str = ""
    descending: bool = False

    @property
    def sort_key(self) -> str:
        """The sort as written in the URL: ``name``, ``-revenue``, ``label:value``."""
        key = f"label:{self.sort_dimension}" if self.sort == "label" else self.sort
        return f"-{key}" if self.descending else key

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (only those set), for links, exports and the audit."""
        out = {
            "q": self.q,
            "owner": self.owner,
            "industry": self.industry,
            "region": self.region,
            "line": self.business_line,
            "tag": self.tag,
            "policy": self.grading.policy if self.grading else "",
            "label": f"{self.dimension}:{self.label}" if self.dimension else "",
            "sort": "" if self.sort_key == "id" else self.sort_key,
        }
        return {k: v for k, v in out.items() if v}

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (the policy and the sort do not)."""
        return any(
            (self.q, self.owner, self.industry, self.region, self.business_line, self.tag)
        ) or bool(self.dimension)


def parse_filters(
    *, params: Mapping[str, str], gradings: list[Grading]
) -> tuple[CustomerFilters, list[str]]:
    """Filters from URL parameters, and a message for each one that could not be used.

    Parameters: ``q`` (search), ``owner``, ``industry``, ``region``, ``line`` (business line
    code), ``tag``, ``policy`` (name; default: the first published policy by name), ``label``
    (``dimension:label`` of that policy), ``sort`` (``id``, ``name``, ``owner``, ``industry``,
    ``region``, ``revenue``, ``label:dimension``; a leading ``-`` sorts descending).

    A bad value never fails the request: the filter or sort is dropped and the message says
    why. Owner, industry, region, line and tag values are applied as given — a value that
    matches none of the visible customers simply lists none, whether it exists elsewhere or
    not, so the answer tells nothing about other reps' customers."""
    errors: list[str] = []

    def text(name: str, limit: int = 200) -> str:
        return str(params.get(name) or "").strip()[:limit]

    filters = CustomerFilters(
        q=" ".join(text("q", 1000).split())[:MAX_SEARCH],
        owner=text("owner"),
        industry=text("industry"),
        region=text("region"),
        business_line=text("line"),
        tag=text("tag"),
    )
    by_name = {g.policy: g for g in gradings}
    wanted = text("policy")
    grading = by_name.get(wanted) if wanted else (gradings[0] if gradings else None)
    if wanted and grading is None:
        errors.append(
            _("Policy “%(policy)s” is not published; showing %(shown)s.")
            % {"policy": wanted, "shown": gradings[0].title if gradings else "—"}
        )
        grading = gradings[0] if gradings else None
    filters = replace(filters, grading=grading)

    label = text("label")
    if label:
        dim_name, _sep, label_name = label.partition(":")
        dim = grading.dimension(dim_name) if grading else None
        if dim is None or label_name not in dim.labels:
            errors.append(
                _("“%(label)s” is not a label of this policy; label filter ignored.")
                % {"label": label}
            )
        else:
            filters = replace(filters, dimension=dim.name, label=label_name)

    sort = text("sort") or "id"
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key in FIELD_SORTS:
        filters = replace(filters, sort=key, descending=descending)
    elif key == "revenue" and grading is not None:
        filters = replace(filters, sort="revenue", descending=descending)
    elif key.startswith("label:") and grading is not None and grading.dimension(key[6:]):
        filters = replace(filters, sort="label", sort_dimension=key[6:], descending=descending)
    else:
        errors.append(_("Cannot sort by “%(sort)s”; sorted by customer id.") % {"sort": sort})
    return filters, errors


# --- the list ---------------------------------------------------------------------------------


class HasTag(Expression):
    """``tag in customer.tags`` for the JSON list of tags, on SQLite and PostgreSQL.

    Django's ``contains`` lookup on a JSON field does not exist on SQLite, so each database
    gets its own membership test: ``json_each`` on SQLite, ``@>`` on PostgreSQL. Most customers
    have no tags; on SQLite their ``[]`` is skipped before any JSON is parsed."""

    output_field = BooleanField()

    def __init__(self, tag: str, tags: Any = None) -> None:
        super().__init__()
        self.tag = tag
        self.tags = tags if tags is not None else F("tags")

    def get_source_expressions(self) -> list[Any]:
        return [self.tags]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.tags,) = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise NotSupportedError(f"tag filter is not implemented for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.tags)
        return (
            f"({sql} <> '[]' AND EXISTS (SELECT 1 FROM json_each({sql}) AS tag "
            f"WHERE tag.value = %s))",
            [*params, *params, self.tag],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.tags)
        return f"({sql})::jsonb @> %s::jsonb", [*params, json.dumps([self.tag])]


def _results(filters: CustomerFilters, grading: Grading) -> QuerySet[RunResult]:
    """Results of the shown run; for a policy graded per line with a line chosen, that line's."""
    rows = RunResult.objects.filter(run_id=grading.run_id)
    if grading.per_line and filters.business_line:
        rows = rows.filter(business_line__code=filters.business_line)
    return rows


def _revenue_rows(filters: CustomerFilters, grading: Grading) -> QuerySet[RunCustomer]:
    rows = RunCustomer.objects.filter(run_id=grading.run_id)
    if grading.per_line and filters.business_line:
        rows = rows.filter(business_line__code=filters.business_line)
    return rows


def _rank_case(dim: DimensionInfo, field: str = "label") -> Case:
    """The tier rank of the label in ``field`` (0 = best); NULL when there is no label, so
    that ungraded customers sort last; labels the policy does not list rank after its own."""
    return Case(
        When(**{f"{field}__isnull": True}, then=Value(None)),
        *(When(**{field: label}, then=Value(rank)) for rank, label in enumerate(dim.labels)),
        default=Value(len(dim.labels)),
        output_field=IntegerField(),
    )


def customer_list(*, user: Any, filters: CustomerFilters) -> QuerySet[Customer]:
    """The customers ``user`` may see that match ``filters``, in the asked order.

    - ``q``: name or external id contains the text, case-insensitively (an id prefix such as
      ``B-1`` is a "contains" match too);
    - ``owner``/``industry``/``region``: equal; ``tag``: the customer's tags include it;
    - ``business_line``: the customer has at least one order in that line (of any status: it
      says where the customer buys, not what counts for a metric). Orders, not results,
      decide: most policies grade the customer as a whole, so their results carry no line,
      while every customer who buys in a line has orders there. For policies graded per
      customer and line, the line also narrows the labels and revenue shown to that line's;
    - ``dimension``/``label``: the shown policy's published run gave that label (in any line,
      or in the chosen line).

    Rows without a label or a revenue (not graded, or no revenue row) sort last either way."""
    rows = visible_customers(user=user)
    if filters.q:
        rows = rows.filter(Q(name__icontains=filters.q) | Q(external_id__icontains=filters.q))
    if filters.owner:
        rows = rows.filter(owner=filters.owner)
    if filters.industry:
        rows = rows.filter(industry=filters.industry)
    if filters.region:
        rows = rows.filter(region=filters.region)
    if filters.tag:
        rows = rows.filter(HasTag(filters.tag))
    if filters.business_line:
        orders = Order.objects.filter(business_line__code=filters.business_line)
        if visible_owners(user) is None:
            # All customers: one pass over the line's orders.
            rows = rows.filter(pk__in=orders.values("customer_id"))
        else:
            # A rep's or a team's customers: probe each one's own orders (by customer index).
            rows = rows.filter(Exists(orders.filter(customer_id=OuterRef("pk"))))
    grading = filters.grading
    if grading is not None and filters.dimension:
        if grading.per_line:
            labelled = _results(filters, grading).filter(
                dimension=filters.dimension, label=filters.label
            )
            rows = rows.filter(pk__in=labelled.values("customer_id"))
        else:
            # One result per customer and dimension: a join, which the database may start
            # from the label's results (many customers) or from the customers (one rep's).
            rows = rows.alias(
                filter_result=FilteredRelation(
                    "results",
                    condition=Q(
                        results__run_id=grading.run_id, results__dimension=filters.dimension
                    ),
                )
            ).filter(filter_result__label=filters.label)
    return _ordered(rows, filters)


def customer_count(*, user: Any, filters: CustomerFilters) -> int:
    """How many customers :func:`customer_list` lists, counted without the joins and
    subqueries its sort needs (an outer join kept only for the order would cost a lookup per
    customer)."""
    return customer_list(user=user, filters=replace(filters, sort="id")).count()


def customers_by_ids(*, user: Any, ids: list[int], fields: tuple[str, ...] = ()) -> list[Customer]:
    """The visible customers with these ids, in the order of ``ids`` (``fields``: only those).

    Pages and exports take the ids of their rows from :func:`customer_list` first and the rows
    themselves here: sorting ids alone (rather than whole rows with their JSON) halves the
    cost of a deep page of a sort by revenue or label."""
    rows = visible_customers(user=user)
    if fields:
        rows = rows.only(*fields)
    found = rows.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def _ordered(rows: QuerySet[Customer], filters: CustomerFilters) -> QuerySet[Customer]:
    desc = filters.descending
    tie = F("external_id").desc() if desc else F("external_id").asc()
    grading = filters.grading
    if filters.sort == "revenue" and grading is not None:
        revenue = _revenue_rows(filters, grading).filter(customer_id=OuterRef("pk"))
        if grading.per_line:
            value = Subquery(
                revenue.values("customer_id").annotate(total=Sum("revenue")).values("total")[:1]
            )
        else:
            value = Subquery(revenue.values("revenue")[:1])
        key = (
            F("sort_revenue").desc(nulls_last=True)
            if desc
            else F("sort_revenue").asc(nulls_last=True)
        )
        return rows.annotate(sort_revenue=value).order_by(key, tie)
    dim = grading.dimension(filters.sort_dimension) if grading is not None else None
    if filters.sort == "label" and grading is not None and dim is not None:
        # Best tier first when ascending: rank 0 is the best label. A policy graded per line
        # ranks a customer by its best line; otherwise by its one label, read by an outer join
        # (one result per customer and dimension) rather than a subquery per customer.
        if grading.per_line:
            results = _results(filters, grading).filter(
                customer_id=OuterRef("pk"), dimension=dim.name
            )
            rank: Any = Subquery(
                results.annotate(rank=_rank_case(dim))
                .values("customer_id")
                .annotate(best=Min("rank"))
                .values("best")[:1]
            )
            rows = rows.annotate(sort_rank=rank)
        else:
            rows = rows.alias(
                sort_result=FilteredRelation(
                    "results",
                    condition=Q(results__run_id=grading.run_id, results__dimension=dim.name),
                )
            ).annotate(sort_rank=_rank_case(dim, field="sort_result__label"))
        key = F("sort_rank").desc(nulls_last=True) if desc else F("sort_rank").asc(nulls_last=True)
        return rows.order_by(key, tie)
    column = FIELD_SORTS.get(filters.sort, "external_id")
    if column == "external_id":
        return rows.order_by(tie)
    return rows.order_by(F(column).desc() if desc else F(column).asc(), tie)


# --- what a page of rows shows ----------------------------------------------------------------


@dataclass(frozen=True)
class LabelCell:
    """One label of a customer: for policies graded per line, one per line."""

    label: str | None
    rank: int | None
    source: str
    line: str = ""


@dataclass
class CustomerRow:
    customer: Customer
    labels: list[list[LabelCell]] = field(default_factory=list)
    revenue: Decimal | None = None
    last_follow_up: date | None = None


def _of(ids: list[int]) -> In:
    """``customer_id IN ids`` as a plain lookup: a foreign key's ``__in`` prepares every id
    as a related object, which an export of 100,000 customers would pay for in seconds."""
    return In(F("customer_id"), ids)


def customer_rows(
    *, user: Any, customers: Iterable[Customer], filters: CustomerFilters
) -> list[CustomerRow]:
    """The customers of one page (or one export chunk) with their labels in the shown run (one
    list per dimension, in the policy's order), revenue, and last follow-up date.

    Three queries for any number of customers, each bounded by their ids; every one narrowed by
    the visibility rule as well, though the customers passed in come from
    :func:`customer_list` already."""
    rows = [CustomerRow(customer=c) for c in customers]
    if not rows:
        return rows
    ids = [r.customer.pk for r in rows]
    grading = filters.grading
    if grading is not None:
        found: dict[tuple[int, str], list[LabelCell]] = defaultdict(list)
        results = (
            scope(_results(filters, grading), user=user)
            .filter(_of(ids))
            .values_list("customer_id", "dimension", "business_line__code", "label", "source")
            .order_by("customer_id", "dimension", "business_line__code")
        )
        dims = {d.name: d for d in grading.dimensions}
        for customer_id, dim_name, line, label, source in results:
            dim = dims.get(dim_name)
            if dim is not None:
                found[(customer_id, dim_name)].append(
                    LabelCell(label=label, rank=dim.rank(label), source=source, line=line or "")
                )
        revenue: dict[int, Decimal] = {}
        for customer_id, amount in (
            scope(_revenue_rows(filters, grading), user=user)
            .filter(_of(ids), revenue__isnull=False)
            .values_list("customer_id", "revenue")
        ):
            revenue[customer_id] = revenue.get(customer_id, Decimal(0)) + amount
        for row in rows:
            row.labels = [found.get((row.customer.pk, d.name), []) for d in grading.dimensions]
            row.revenue = revenue.get(row.customer.pk)
    follow_ups = dict(
        scope(Interaction.objects.filter(_of(ids)), user=user)
        .values("customer_id")
        .annotate(last=Max("happened_on"))
        .values_list("customer_id", "last")
        .order_by()
    )
    for row in rows:
        row.last_follow_up = follow_ups.get(row.customer.pk)
    return rows


# --- filter choices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterChoices:
    """Values the filter dropdowns offer, all taken from the customers the user may see."""

    owners: list[str]
    industries: list[str]
    regions: list[str]
    tags: list[str]
    lines: list[tuple[str, str]]


def _distinct(rows: QuerySet[Customer], column: str) -> list[str]:
    values = rows.exclude(**{column: ""}).order_by(column).values_list(column, flat=True)
    return list(values.distinct())


def _tags(rows: QuerySet[Customer]) -> list[str]:
    """Distinct tags of ``rows``: the JSON lists are unnested by the database itself."""
    sql, params = rows.values("tags").order_by().query.sql_with_params()
    if connection.vendor == "sqlite":
        # Customers without tags hold "[]": skipped before their JSON is parsed.
        query = (
            f"SELECT DISTINCT tag.value FROM ({sql}) AS c, json_each(c.tags) AS tag "
            f"WHERE c.tags <> '[]' AND tag.type = 'text' ORDER BY 1"
        )
    elif connection.vendor == "postgresql":
        query = (
            f"SELECT DISTINCT tag FROM ({sql}) AS c, "
            f"jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.tags::jsonb) = 'array' "
            f"THEN c.tags::jsonb ELSE '[]'::jsonb END) AS tag ORDER BY 1"
        )
    else:
        raise NotSupportedError(f"tag choices are not implemented for {connection.vendor}")
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [value for (value,) in cursor.fetchall() if value]


def _lines(user: Any) -> list[tuple[str, str]]:
    """Business lines in which some visible customer has an order."""
    bought = scope(Order.objects.all(), user=user).filter(business_line=OuterRef("pk"))
    lines = BusinessLine.objects.filter(Exists(bought)).order_by("code")
    return [(line.code, line.name or line.code) for line in lines]


def filter_choices(*, user: Any) -> FilterChoices:
    """The dropdowns' values (five queries, each over the visible customers)."""
    rows = visible_customers(user=user)
    return FilterChoices(
        owners=_distinct(rows, "owner"),
        industries=_distinct(rows, "industry"),
        regions=_distinct(rows, "region"),
        tags=_tags(rows),
        lines=_lines(user),
    )
