"""How each importable source maps onto its database table.

An import is the same procedure for every kind of file — read, resolve customers and business
lines, compare with what is stored, insert the new rows and update the changed ones — so the
differences between kinds are data, not code: which file column goes to which database column,
which columns identify a row, and what a new row gets where the file has a blank cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from django.db import models

from fenji.io.headers import header_key
from fenji.policy.sources import (
    CUSTOMERS,
    ORDERS,
    RECEIVABLES,
    SCORE_EVENTS,
    TARGETS,
    Source,
)
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.facts.importing.sources import (
    FEEDBACK,
    FEEDBACK_KINDS,
    INTERACTION_KINDS,
    INTERACTIONS,
    header_mapping,
)
from fenji.web.facts.models import (
    Feedback,
    Interaction,
    MonthlyTarget,
    Order,
    Receivable,
    ScoreEvent,
)

#: ``text``, ``date``, ``decimal`` and ``boolean`` hold the file's value; ``choice`` holds the
#: stored value of one of a few spellings (拜访 -> visit); ``customer``, ``line`` and ``user``
#: hold the id of the customer, business line or user the file names by its code or login.
FieldKind = Literal["text", "date", "decimal", "boolean", "choice", "customer", "line", "user"]


@dataclass(frozen=True)
class Field:
    """One file column and the database column it is stored in.

    ``nullable`` is whether the database column accepts NULL; where it does not (Django's
    ``CharField(blank=True)``, ``BooleanField(default=False)``), a blank cell of a *new* row is
    stored as ``default``. A blank cell of an existing row keeps the stored value either way.
    """

    source: str
    column: str
    kind: FieldKind
    nullable: bool = False
    default: str | bool | None = None
    max_length: int | None = None
    #: ``choice``: the stored value of each accepted spelling, keyed by ``header_key``.
    choices: Mapping[str, str] = field(default_factory=dict)
    #: ``decimal`` columns narrower than the canonical decimal: (max digits, decimal places).
    digits: tuple[int, int] | None = None
    #: ``decimal``: whether a value below zero is refused (a satisfaction score).
    non_negative: bool = False


@dataclass(frozen=True)
class ImportTable:
    """One importable kind: its source, its table, the columns that identify a row, the rest.

    ``keys`` identify a stored row: an external id for customers and most facts (follow-ups
    and feedback written in the UI have none, and are never matched), or (customer, business
    line, month) for monthly targets. ``values`` are updated from non-blank cells.
    ``profile`` is true for customers, whose extra file columns are custom attributes (and a
    ``tags`` column their tags) and whose rows carry created/updated timestamps.
    """

    kind: str
    source: Source
    model: type[models.Model]
    keys: tuple[Field, ...]
    values: tuple[Field, ...]
    profile: bool = False
    #: Further headers recognised for this kind (``{header: column}``); a mapping the caller
    #: gives takes precedence.
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def db_table(self) -> str:
        return str(self.model._meta.db_table)

    @property
    def fields(self) -> tuple[Field, ...]:
        return (*self.keys, *self.values)

    @property
    def external_key(self) -> bool:
        """Whether rows are identified by one external id (all kinds but monthly targets)."""
        return len(self.keys) == 1 and self.keys[0].kind == "text"


#: The kinds an import accepts, in the order a multi-file import writes them (customers first,
#: so that facts of the same import can refer to them).
KINDS: Final = (
    "customers",
    "orders",
    "receivables",
    "targets",
    "score_events",
    "interactions",
    "feedback",
)

#: Headers of the customers' tags column (comma-, 、- or semicolon-separated labels).
TAG_HEADERS: Final = frozenset({"tags", "标签", "客户标签"})


def _import_source(source: Source) -> Source:
    """``source`` with every column whose value is not required made optional as a column.

    The engine wants complete tables, but an import may bring only some columns (ids and
    names, to correct the names): absent columns are blank, and blank cells keep what is
    stored.
    """
    optional = tuple(col.name for col in source.columns if not col.required)
    return replace(source, optional_columns=optional)


def _length(model: type[models.Model], name: str) -> int | None:
    field = model._meta.get_field(name)
    return getattr(field, "max_length", None)


def _text(model: type[models.Model], source: str, column: str | None = None) -> Field:
    column = column or source
    field = model._meta.get_field(column)
    return Field(
        source,
        column,
        "text",
        nullable=bool(field.null),
        default=None if field.null else "",
        max_length=_length(model, column),
    )


def _plain(
    model: type[models.Model], source: str, kind: FieldKind, column: str | None = None
) -> Field:
    column = column or source
    field = model._meta.get_field(column)
    assert isinstance(field, models.Field)  # a column of the model, not a reverse relation
    default = field.get_default() if field.has_default() else None
    return Field(source, column, kind, nullable=bool(field.null), default=default)


def _customer() -> Field:
    return Field("customer_id", "customer_id", "customer")


def _line() -> Field:
    return Field("business_line", "business_line_id", "line", nullable=True)


def _user() -> Field:
    return Field("user", "user_id", "user", nullable=True)


def _choice(model: type[models.Model], spellings: Mapping[str, tuple[str, ...]]) -> Field:
    """The ``kind`` column, stored as one of the model's choices whichever way it is written."""
    kind = model._meta.get_field("kind")
    assert isinstance(kind, models.Field)  # a column of the model, not a reverse relation
    stored = {str(value) for value, _ in kind.choices or ()}
    if set(spellings) != stored:  # the format and the model must name the same kinds
        raise AssertionError(f"{model.__name__}.kind: {sorted(stored)} != {sorted(spellings)}")
    choices = {header_key(s): value for value, names in spellings.items() for s in names}
    return Field("kind", "kind", "choice", choices=choices, max_length=_length(model, "kind"))


def _score(model: type[models.Model]) -> Field:
    field = model._meta.get_field("score")
    assert isinstance(field, models.DecimalField)
    return Field(
        "score",
        "score",
        "decimal",
        nullable=True,
        digits=(int(field.max_digits or 0), int(field.decimal_places or 0)),
        non_negative=True,
    )


def _external(model: type[models.Model], source: str) -> tuple[Field, ...]:
    return (_text(model, source, "external_id"),)


def import_table(kind: str) -> ImportTable:
    """The mapping of ``kind`` (one of :data:`KINDS`); ``ValueError`` for any other kind."""
    if kind == "customers":
        c = Customer
        return ImportTable(
            kind,
            _import_source(CUSTOMERS),
            c,
            keys=_external(c, "customer_id"),
            values=(
                _text(c, "name"),
                _text(c, "industry"),
                _text(c, "region"),
                _text(c, "scale"),
                _text(c, "owner"),
                _plain(c, "first_deal_date", "date"),
                _text(c, "influence"),
            ),
            profile=True,
        )
    if kind == "orders":
        o = Order
        return ImportTable(
            kind,
            _import_source(ORDERS),
            o,
            keys=_external(o, "order_id"),
            values=(
                _customer(),
                _line(),
                _plain(o, "order_date", "date"),
                _plain(o, "amount", "decimal"),
                _plain(o, "quantity", "decimal"),
                _text(o, "channel"),
                _text(o, "status"),
            ),
        )
    if kind == "receivables":
        r = Receivable
        return ImportTable(
            kind,
            _import_source(RECEIVABLES),
            r,
            keys=_external(r, "invoice_id"),
            values=(
                _customer(),
                _line(),
                _plain(r, "due_date", "date"),
                _plain(r, "amount", "decimal"),
                _plain(r, "paid_date", "date"),
            ),
        )
    if kind == "targets":
        t = MonthlyTarget
        return ImportTable(
            kind,
            _import_source(TARGETS),
            t,
            keys=(_customer(), _line(), _plain(t, "month", "date")),
            values=(_plain(t, "target_amount", "decimal"),),
        )
    if kind == "score_events":
        s = ScoreEvent
        return ImportTable(
            kind,
            _import_source(SCORE_EVENTS),
            s,
            keys=_external(s, "event_id"),
            values=(
                _customer(),
                _line(),
                _plain(s, "event_date", "date"),
                _text(s, "item"),
                _plain(s, "points", "decimal"),
                _plain(s, "red_line", "boolean"),
            ),
        )
    if kind == "interactions":
        i = Interaction
        return ImportTable(
            kind,
            _import_source(INTERACTIONS),
            i,
            keys=_external(i, "interaction_id"),
            values=(
                _customer(),
                _choice(i, INTERACTION_KINDS),
                _plain(i, "interaction_date", "date", "happened_on"),
                _user(),
                _text(i, "note"),
                _plain(i, "next_due", "date"),
            ),
            aliases=header_mapping(INTERACTIONS.name),
        )
    if kind == "feedback":
        f = Feedback
        return ImportTable(
            kind,
            _import_source(FEEDBACK),
            f,
            keys=_external(f, "feedback_id"),
            values=(
                _customer(),
                _choice(f, FEEDBACK_KINDS),
                _plain(f, "feedback_date", "date", "received_on"),
                _score(f),
                _text(f, "text"),
            ),
            aliases=header_mapping(FEEDBACK.name),
        )
    raise ValueError(f"unknown import kind {kind!r}; known: {', '.join(KINDS)}")


def line_code_length() -> int:
    """The longest business line code the database holds."""
    return _length(BusinessLine, "code") or 64
