"""Pagination of list pages: one COUNT and one page of rows, links that keep the filters.

Lists are ordered by an indexed column plus the primary key, so a page is a short index range
scan even at 100,000 customers; the count is one aggregate over the same filtered query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest, QueryDict

M = TypeVar("M", bound=Model)

PER_PAGE = 50


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    number: int
    per_page: int
    count: int
    query: QueryDict

    @property
    def start(self) -> int:
        return 0 if not self.count else (self.number - 1) * self.per_page + 1

    @property
    def end(self) -> int:
        return min(self.number * self.per_page, self.count)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.count

    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def _query(self, number: int) -> str:
        q = self.query.copy()
        q["page"] = str(number)
        encoded: str = q.urlencode()
        return encoded

    @property
    def previous_query(self) -> str:
        return self._query(self.number - 1)

    @property
    def next_query(self) -> str:
        return self._query(self.number + 1)


def page_number(request: HttpRequest) -> int:
    """The page named by ``?page=``: 1 when missing or not a number."""
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def page_of(
    queryset: QuerySet[M],
    *,
    number: int,
    per_page: int = PER_PAGE,
    count: int | None = None,
    query: QueryDict | None = None,
) -> Page[M]:
    """Page ``number`` of ``queryset`` (one COUNT unless ``count`` is given, one slice),
    clamped to the first and last pages; ``query`` is kept in the page's links."""
    total = queryset.count() if count is None else count
    last = max(1, -(-total // per_page))
    number = min(max(number, 1), last)
    offset = (number - 1) * per_page
    items: list[Any] = list(queryset[offset : offset + per_page])
    return Page(
        items=items,
        number=number,
        per_page=per_page,
        count=total,
        query=query if query is not None else QueryDict(),
    )


def paginate(
    queryset: QuerySet[M],
    request: HttpRequest,
    *,
    per_page: int = PER_PAGE,
    count: int | None = None,
) -> Page[M]:
    """The page named by ``?page=`` (1 when missing or not a number; clamped to the last),
    with links that keep the request's other parameters."""
    return page_of(
        queryset, number=page_number(request), per_page=per_page, count=count, query=request.GET
    )
