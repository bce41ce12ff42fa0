"""What an import would do, worked out on whole columns before anything is written.

For each file: customers and business lines are looked up by their codes, rows the database
could not take are found (a customer that does not exist, a value longer than its column), and
the remaining rows are compared with the stored ones, all with Arrow kernels: a row is *new*,
*changed* or *unchanged*. A blank cell never erases a stored value — the row written is the
stored row overlaid with the file's non-blank cells — so a changed row is one where that
overlay differs from what is stored, and importing the same file twice changes nothing.

Customers of the same import that are not stored yet, and business lines that do not exist
yet, get negative placeholder ids while planning; :class:`Resolver` swaps in the real ids once
they have been written, inside the same transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from django.contrib.auth import get_user_model
from django.db.models.functions import Lower

from fenji.io.errors import MAX_ISSUES_PER_PROBLEM, DataIssue, Reason
from fenji.io.headers import header_key
from fenji.io.values import ARROW_TYPES, parse_text
from fenji.policy.sources import ColumnType
from fenji.web.customers.models import BusinessLine, Customer
from fenji.web.facts.importing.database import Backend
from fenji.web.facts.importing.reading import Rows
from fenji.web.facts.importing.tables import (
    TAG_HEADERS,
    FieldKind,
    ImportTable,
    line_code_length,
)

#: Up to this many keys, stored rows are looked up by key without further thought.
KEYED_LOOKUP_MAX: Final = 20_000
#: Beyond it, the whole table is read instead when the file holds at least this share of the
#: table's rows: one scan is then cheaper than many ``IN (...)`` queries.
SCAN_SHARE: Final = 0.25
_TAG_SEPARATORS: Final = re.compile(r"[,，;；、|]")
_TYPES: Final[dict[FieldKind, pa.DataType]] = {
    "text": pa.string(),
    "date": ARROW_TYPES["date"],
    "decimal": ARROW_TYPES["decimal"],
    "boolean": pa.bool_(),
    "choice": pa.string(),
    "customer": pa.int64(),
    "line": pa.int64(),
    "user": pa.int64(),
}
#: Field kinds stored as the id of another row.
_ID_KINDS: Final = ("customer", "line", "user")


def _lookup(
    backend: Backend,
    *,
    table: str,
    ids: list[str],
    text: list[str],
    where: str,
    keys: pa.Array,
) -> pa.Table:
    """Stored rows whose ``where`` column is in ``keys``: by key, or by one scan of the table."""
    names = [*ids, *text]
    if len(keys) == 0:
        return _empty(names, len(ids))
    scan = False
    if len(keys) > KEYED_LOOKUP_MAX:
        stored = backend.count(table)
        if stored == 0:  # a first import: nothing to compare with
            return _empty(names, len(ids))
        scan = len(keys) >= stored * SCAN_SHARE
    return backend.fetch(
        table=table,
        ids=ids,
        text=text,
        where=None if scan else where,
        keys=[] if scan else keys.to_pylist(),
    )


def _empty(names: list[str], num_ids: int) -> pa.Table:
    types = [pa.int64()] * num_ids + [pa.string()] * (len(names) - num_ids)
    return pa.schema(list(zip(names, types, strict=True))).empty_table()


class Resolver:
    """Customer and business line ids for the codes files use, for all files of one import.

    ``pending`` holds the customer ids of a customers file in the same import: facts may refer
    to them although they are not stored yet.
    """

    def __init__(self, backend: Backend, pending: pa.Array | None = None) -> None:
        self.backend = backend
        self.pending = pending if pending is not None else pa.array([], pa.string())
        self.pending_ids: pa.Array | None = None  # real ids of ``pending``, once written
        self.lines: dict[str, int] = {}
        self.new_lines: list[str] = []

    def customer_ids(self, codes: pa.ChunkedArray) -> pa.ChunkedArray:
        """The id of each code's customer: stored, placeholder (pending), or null (unknown)."""
        wanted = pc.unique(codes.combine_chunks()).drop_null()
        stored = _lookup(
            self.backend,
            table=str(Customer._meta.db_table),
            ids=["id"],
            text=["external_id"],
            where="external_id",
            keys=wanted,
        )
        found = pc.take(stored["id"], pc.index_in(codes, value_set=stored["external_id"]))
        if len(self.pending) == 0:
            return found
        position = pc.index_in(codes, value_set=self.pending)
        placeholder = pc.subtract(pc.negate(pc.cast(position, pa.int64())), 1)
        return pc.coalesce(found, placeholder)

    def line_ids(self, codes: pa.ChunkedArray) -> pa.ChunkedArray:
        """The id of each business line; lines not stored yet get placeholders (to create)."""
        wanted = pc.unique(codes.combine_chunks()).drop_null().to_pylist()
        unknown = [c for c in wanted if c not in self.lines]
        if unknown:
            for code, pk in BusinessLine.objects.filter(code__in=unknown).values_list("code", "id"):
                self.lines[code] = pk
            for code in unknown:
                if code not in self.lines:
                    self.new_lines.append(code)
                    self.lines[code] = -len(self.new_lines)
        known = pa.array(list(self.lines), pa.string())
        ids = pa.array(list(self.lines.values()), pa.int64())
        return pc.take(ids, pc.index_in(codes, value_set=known))

    def user_ids(self, logins: pa.ChunkedArray) -> pa.ChunkedArray:
        """The id of each login's user (null for a login nobody has).

        Logins are matched as written, then regardless of case (``Li.Na`` is ``li.na``) when
        that names one user only.
        """
        wanted = pc.unique(logins.combine_chunks()).drop_null().to_pylist()
        model = get_user_model()
        found: dict[str, int] = dict(
            model.objects.filter(username__in=wanted).values_list("username", "id")
        )
        missing = {login.casefold(): login for login in wanted if login not in found}
        if missing:
            matches: dict[str, list[int]] = {}
            for username, pk in (
                model.objects.annotate(folded=Lower("username"))
                .filter(folded__in=list(missing))
                .values_list("username", "id")
            ):
                matches.setdefault(username.casefold(), []).append(pk)
            for folded, login in missing.items():
                if len(matches.get(folded, [])) == 1:
                    found[login] = matches[folded][0]
        known = pa.array(list(found), pa.string())
        ids = pa.array(list(found.values()), pa.int64())
        return pc.take(ids, pc.index_in(logins, value_set=known))

    def create_lines(self) -> None:
        """Store the new business lines (named by their code until someone renames them)."""
        if not self.new_lines:
            return
        BusinessLine.objects.bulk_create(
            [BusinessLine(code=code, name=code) for code in self.new_lines]
        )
        for code, pk in BusinessLine.objects.filter(code__in=self.new_lines).values_list(
            "code", "id"
        ):
            self.lines[code] = pk

    def customers_written(self) -> None:
        """Learn the ids the pending customers got."""
        if len(self.pending) == 0:
            return
        stored = _lookup(
            self.backend,
            table=str(Customer._meta.db_table),
            ids=["id"],
            text=["external_id"],
            where="external_id",
            keys=self.pending,
        )
        self.pending_ids = pc.take(
            stored["id"], pc.index_in(self.pending, value_set=stored["external_id"])
        ).combine_chunks()

    def real_ids(self, ids: pa.ChunkedArray, kind: FieldKind) -> pa.ChunkedArray:
        """``ids`` with placeholders replaced by the ids written since planning."""
        if len(ids) == 0 or not pc.any(pc.less(ids, 0)).as_py():
            return ids
        if kind == "line":
            real = pa.array([self.lines[code] for code in self.new_lines], pa.int64())
        else:
            if self.pending_ids is None:
                raise RuntimeError("customers of this import must be written before its facts")
            real = self.pending_ids
        position = pc.subtract(pc.negate(ids), 1)  # -1 -> 0, -2 -> 1, ...
        negative = pc.less(ids, 0)
        return pc.if_else(negative, pc.take(real, pc.if_else(negative, position, 0)), ids)


@dataclass
class Plan:
    """The outcome of one file: rows to insert, rows to update, counts, and what is wrong."""

    spec: ImportTable
    rows: int
    inserts: pa.Table
    updates: pa.Table
    unchanged: int
    issues: list[DataIssue] = field(default_factory=list)
    bad: pa.Array = field(default_factory=lambda: pa.array([], pa.int64()))  # table indices

    @property
    def created(self) -> int:
        return int(self.inserts.num_rows)

    @property
    def updated(self) -> int:
        return int(self.updates.num_rows)


def plan_table(
    *,
    spec: ImportTable,
    table: pa.Table,
    rejected: pa.Array,
    rows: Rows,
    file: str,
    resolver: Resolver,
    stamp: str,
) -> Plan:
    """Plan the import of ``table`` (the canonical table of ``file``).

    ``rejected`` marks the table rows the reader already found bad; they are left out, and the
    rows the database could not take are added to them. ``stamp`` is the time written to the
    timestamps of customers.
    """
    checks = _Checks(file=file, rows=rows, num_rows=table.num_rows)
    columns: dict[str, pa.ChunkedArray] = {}
    for f in spec.fields:
        values = table[f.source]
        if f.kind == "customer":
            ids = resolver.customer_ids(values)
            checks.flag(pc.and_(pc.is_valid(values), pc.is_null(ids)), values, _unknown_customer)
            columns[f.column] = ids
        elif f.kind == "line":
            checks.too_long(values, "business_line", line_code_length())
            columns[f.column] = resolver.line_ids(values)
        elif f.kind == "user":
            ids = resolver.user_ids(values)
            checks.flag(
                pc.and_(pc.is_valid(values), pc.is_null(ids)), values, _unknown_user, f.source
            )
            columns[f.column] = ids
        elif f.kind == "choice":
            stored = _choice_values(values, f.choices)
            checks.flag(
                pc.and_(pc.is_valid(values), pc.is_null(stored)),
                values,
                _bad_choice(f.choices),
                f.source,
            )
            columns[f.column] = stored
        else:
            if f.digits is not None or f.non_negative:
                checks.out_of_range(values, f.source, f.digits, non_negative=f.non_negative)
            if f.max_length is not None:
                checks.too_long(values, f.source, f.max_length)
            columns[f.column] = values
    bad = pc.or_(rejected, checks.bad)
    good = pa.table(columns)
    extras = _extra_columns(spec, table)
    if pc.any(bad).as_py():
        good = good.filter(pc.invert(bad))
        extras = extras.filter(pc.invert(bad)) if extras is not None else None

    # Columns stay chunked as read and are only copied where they change: a million new rows
    # are written from the very buffers the reader filled.
    stored = _stored(spec, good, resolver.backend)
    fresh = stored.num_rows == 0
    if fresh:
        position: pa.ChunkedArray | pa.Array = pa.nulls(good.num_rows, pa.int32())
    else:
        position = pc.index_in(_key(spec, good), value_set=_key(spec, stored))
    exists = pc.is_valid(position)
    merged: dict[str, pa.ChunkedArray | pa.Array] = {}
    changed = pc.is_valid(pa.nulls(good.num_rows, pa.bool_()))  # all false
    for f in spec.values:
        value = good[f.column]
        if not fresh:
            old = pc.take(stored[f.column], position)
            value = pc.coalesce(value, old)
        if not f.nullable and f.default is not None and value.null_count:
            value = pc.fill_null(value, pa.scalar(f.default, _TYPES[f.kind]))
        if not fresh:
            differs = pc.coalesce(
                pc.not_equal(value, old), pc.xor(pc.is_null(value), pc.is_null(old))
            )
            changed = pc.or_(changed, differs)
        merged[f.column] = value
    if spec.profile:
        profile, profile_changed = _profile(good, extras, stored, position)
        merged.update(profile)
        changed = pc.or_(changed, profile_changed)
    changed = pc.and_(exists, changed)
    written = pa.table({**{f.column: good[f.column] for f in spec.keys}, **merged})

    inserts = written if fresh else written.filter(pc.invert(exists))
    updates = _rows_where(written, changed).drop_columns([f.column for f in spec.keys])
    updates = updates.append_column("id", _rows_where(pc.take(stored["id"], position), changed))
    if spec.profile:
        inserts = inserts.append_column("created_at", _repeat(stamp, inserts.num_rows))
        inserts = inserts.append_column("updated_at", _repeat(stamp, inserts.num_rows))
        updates = updates.append_column("updated_at", _repeat(stamp, updates.num_rows))
    unchanged = good.num_rows - inserts.num_rows - updates.num_rows
    return Plan(
        spec=spec,
        rows=table.num_rows,
        inserts=inserts,
        updates=updates,
        unchanged=unchanged,
        issues=checks.issues,
        bad=pc.indices_nonzero(checks.bad),
    )


def _rows_where(rows: Any, mask: Any) -> Any:
    """``rows.filter(mask)``, without the pass over the data when no row is selected."""
    return rows.filter(mask) if pc.any(mask).as_py() else rows.slice(0, 0)


def _repeat(value: str, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), count)


class _Checks:
    """Rows the database cannot take, as a mask over the table and as issues (capped)."""

    def __init__(self, *, file: str, rows: Rows, num_rows: int) -> None:
        self.file = file
        self.rows = rows
        self.bad: pa.Array = pc.is_valid(pa.nulls(num_rows, pa.bool_()))
        self.issues: list[DataIssue] = []

    def flag(
        self,
        mask: pa.ChunkedArray | pa.Array,
        values: pa.ChunkedArray,
        reason: Callable[[Any], tuple[str, Reason]],
        column: str = "customer_id",
    ) -> None:
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        self.bad = pc.or_(self.bad, mask)
        indices = pc.indices_nonzero(mask)
        shown = indices.slice(0, MAX_ISSUES_PER_PROBLEM)
        raw = self.rows.raw_indices(shown).to_pylist()
        texts = pc.take(values, shown).to_pylist()
        last: Reason | None = None
        for index, value in zip(raw, texts, strict=True):
            code, last = reason(value)
            self.issues.append(
                DataIssue.of(
                    code,  # type: ignore[arg-type]
                    last,
                    file=self.file,
                    row=self.rows.row(index),
                    column=column,
                    value=None if value is None else str(value),
                )
            )
        rest = len(indices) - len(shown)
        if rest > 0 and last is not None:
            self.issues.append(
                DataIssue.of(
                    "io.more_issues",
                    last._replace(
                        message=f"{rest} more rows have the same problem in {column}",
                        message_zh=f"另有 {rest} 行的 {column} 有同样的问题",
                    ),
                    file=self.file,
                    column=column,
                )
            )

    def too_long(self, values: pa.ChunkedArray, column: str, limit: int) -> None:
        lengths = pc.utf8_length(values)
        mask = pc.greater(lengths, limit)

        def reason(value: Any) -> tuple[str, Reason]:
            size = len(str(value))
            return "io.too_long", Reason(
                f"{column} is {size} characters long; at most {limit} are kept",
                f"{column} 长 {size} 个字符，最多只能保存 {limit} 个",
                f"shorten it to {limit} characters or fewer",
                f"请缩短到 {limit} 个字符以内",
            )

        self.flag(mask, values, reason, column)

    def out_of_range(
        self,
        values: pa.ChunkedArray,
        column: str,
        digits: tuple[int, int] | None,
        *,
        non_negative: bool,
    ) -> None:
        """Decimals the column cannot hold exactly: too large, too many places, or negative."""
        negative = pc.less(values, pa.scalar(0, values.type)) if non_negative else None
        if negative is not None and pc.any(negative).as_py():
            self.flag(negative, _plain_numbers(values), _negative, column)
        if digits is None:
            return
        total, places = digits
        limit = pa.scalar(10 ** (total - places), values.type)
        too_big = pc.or_(pc.greater_equal(values, limit), pc.less_equal(values, pc.negate(limit)))
        rounded = pc.round(values, ndigits=places, round_mode="half_to_even")
        wrong = pc.or_(too_big, pc.not_equal(pc.cast(rounded, values.type), values))
        if not pc.any(wrong).as_py():
            return
        bound = f"{10 ** (total - places) - 10**-places:.{places}f}"

        def reason(value: Any) -> tuple[str, Reason]:
            return "io.out_of_range", Reason(
                f"{column} {value} does not fit: at most {bound}, {places} places",
                f"{column} {value} 超出范围：最大 {bound}，最多 {places} 位小数",
                f"write a number up to {bound} with at most {places} decimal places",
                f"请填写不超过 {bound}、最多 {places} 位小数的数",
            )

        self.flag(wrong, _plain_numbers(values), reason, column)


def _plain_numbers(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Decimals as people write them: ``4.5`` and ``1000``, not ``4.5000`` and ``1000.0000``."""
    text = pc.cast(values, pa.string())
    text = pc.replace_substring_regex(text, pattern=r"(\.\d*?[1-9])0+$", replacement=r"\1")
    return pc.replace_substring_regex(text, pattern=r"\.0+$", replacement="")


def _negative(value: Any) -> tuple[str, Reason]:
    return "io.out_of_range", Reason(
        f"{value} is negative",
        f"{value} 是负数",
        "write zero or a positive number",
        "请填写零或正数",
    )


def _unknown_user(value: Any) -> tuple[str, Reason]:
    return "io.unknown_user", Reason(
        f"user {value} has no login in fenji",
        f"用户 {value} 在系统中没有账号",
        "correct the login, create the user first, or leave the cell blank",
        "请更正登录名，或先创建该用户，或将此格留空",
    )


def _choice_values(values: pa.ChunkedArray, choices: Mapping[str, str]) -> pa.ChunkedArray:
    """The stored value of each cell's spelling; null where blank or not a known spelling."""
    distinct = pc.unique(values.combine_chunks()).drop_null()
    spelled = distinct.to_pylist()
    stored = pa.array([choices.get(header_key(text)) for text in spelled], pa.string())
    return pc.take(stored, pc.index_in(values, value_set=distinct))


def _bad_choice(choices: Mapping[str, str]) -> Callable[[Any], tuple[str, Reason]]:
    """The issue of a value that is none of the spellings: it names each choice in English
    and in its first Chinese spelling (``visit/拜访``)."""
    named = []
    for value in dict.fromkeys(choices.values()):
        chinese = [k for k, v in choices.items() if v == value and not any(c.isascii() for c in k)]
        named.append(f"{value}/{chinese[0]}" if chinese else value)
    allowed = ", ".join(named)

    def reason(value: Any) -> tuple[str, Reason]:
        return "io.bad_choice", Reason(
            f"{value!r} is not one of {allowed}",
            f"{value!r} 不是可选值（{allowed}）之一",
            f"write one of {allowed}",
            f"请填写其中之一：{allowed}",
        )

    return reason


def _unknown_customer(value: Any) -> tuple[str, Reason]:
    return "io.unknown_customer", Reason(
        f"customer {value} is not in the system (nor among the customers of this import)",
        f"客户 {value} 不在系统中（本次导入的客户中也没有）",
        "import the customer first, or correct the customer id",
        "请先导入该客户，或更正客户编号",
    )


def _extra_columns(spec: ImportTable, table: pa.Table) -> pa.Table | None:
    """Customers' columns beyond the catalogue: tags, and custom attributes by header."""
    if not spec.profile:
        return None
    known = set(spec.source.column_names)
    names = [n for n in table.column_names if n not in known]
    return table.select(names) if names else None


def _key(spec: ImportTable, rows: pa.Table) -> pa.Array:
    """One comparable value per row for the row's identity."""
    if spec.external_key:
        return rows[spec.keys[0].column]
    # Monthly targets: customer, business line (possibly none) and month, as one text.
    parts = []
    for f in spec.keys:
        column = rows[f.column]
        if f.kind == "line":
            column = pc.fill_null(column, 0)  # ids start at 1; 0 stands for "no line"
        parts.append(pc.cast(column, pa.string()))
    return pc.binary_join_element_wise(*parts, "|")


def _stored(spec: ImportTable, good: pa.Table, backend: Backend) -> pa.Table:
    """The stored rows the file's rows may be, with each column in its canonical type."""
    ids = ["id"]
    text: list[str] = []
    for f in spec.fields:
        (ids if f.kind in _ID_KINDS else text).append(f.column)
    if spec.profile:
        text += ["tags", "attributes"]
    if spec.external_key:
        where = spec.keys[0].column
        keys = pc.unique(good[where])
    else:
        # Targets are found through their customers; customers not stored yet have none.
        where = "customer_id"
        customers = pc.unique(good["customer_id"])
        keys = customers.filter(pc.greater(customers, 0))
    stored = _lookup(
        backend, table=spec.db_table, ids=ids, text=text, where=where, keys=keys
    ).combine_chunks()
    for f in spec.fields:
        if f.kind in ("date", "decimal", "boolean"):
            index = stored.schema.get_field_index(f.column)
            stored = stored.set_column(index, f.column, _typed(stored[f.column], f.kind))
    return stored


def _typed(texts: pa.ChunkedArray, kind: ColumnType) -> pa.ChunkedArray:
    """Stored values (as text) in their canonical type.

    A plain cast almost always does; the parsers of :mod:`fenji.io.values` take the rest, such
    as the 15-digit rounding by which SQLite may show a REAL (``100000000000000.0``) out of
    the canonical range. A value neither can read compares as different, and the file's value
    is then written again, which is harmless.
    """
    try:
        return pc.cast(texts, ARROW_TYPES[kind])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return parse_text(texts, kind).values


def _profile(
    good: pa.Table, extras: pa.Table | None, stored: pa.Table, position: pa.Array
) -> tuple[dict[str, pa.Array], pa.Array]:
    """Customers' tags and custom attributes as JSON text, and which rows they change.

    A non-blank tags cell replaces the stored tags; attribute cells are merged into the stored
    attributes key by key, so a blank cell (or a column absent from this file) keeps what is
    there. Only rows of files with such columns are looked at one by one.
    """
    old_tags = pc.take(stored["tags"], position)
    old_attributes = pc.take(stored["attributes"], position)
    unchanged = pc.is_valid(pa.nulls(good.num_rows, pa.bool_()))
    if extras is None:
        tags = pc.fill_null(old_tags, "[]")
        attributes = pc.fill_null(old_attributes, "{}")
        return {"tags": tags, "attributes": attributes}, unchanged
    tag_columns = [n for n in extras.column_names if header_key(n) in TAG_HEADERS]
    attribute_columns = [n for n in extras.column_names if n not in tag_columns]
    new_tags = _tag_lists(extras, tag_columns)
    new_attributes = _attribute_dicts(extras, attribute_columns)
    tags_out: list[str] = []
    attributes_out: list[str] = []
    changed: list[bool] = []
    for tags_text, attributes_text, tags, attributes in zip(
        old_tags.to_pylist(), old_attributes.to_pylist(), new_tags, new_attributes, strict=True
    ):
        differs = False
        if tags_text is None:  # a new customer
            tags_out.append(json.dumps(tags or []))
        elif tags is not None and tags != json.loads(tags_text):
            tags_out.append(json.dumps(tags))
            differs = True
        else:
            tags_out.append(tags_text)
        if attributes_text is None:
            attributes_out.append(json.dumps(attributes or {}))
        elif attributes:
            before = json.loads(attributes_text)
            after = {**before, **attributes}
            differs = differs or after != before
            attributes_out.append(json.dumps(after) if after != before else attributes_text)
        else:
            attributes_out.append(attributes_text)
        changed.append(differs)
    return (
        {"tags": pa.array(tags_out, pa.string()), "attributes": pa.array(attributes_out)},
        pa.array(changed, pa.bool_()),
    )


def _tag_lists(extras: pa.Table, names: list[str]) -> list[list[str] | None]:
    if not names:
        return [None] * extras.num_rows
    texts = pc.coalesce(*[extras[n] for n in names]).to_pylist()
    return [
        None if t is None else [p.strip() for p in _TAG_SEPARATORS.split(t) if p.strip()]
        for t in texts
    ]


def _attribute_dicts(extras: pa.Table, names: list[str]) -> list[dict[str, Any] | None]:
    if not names:
        return [None] * extras.num_rows
    columns: Mapping[str, list[Any]] = {n: extras[n].to_pylist() for n in names}
    out: list[dict[str, Any] | None] = []
    for i in range(extras.num_rows):
        found = {n: columns[n][i] for n in names if columns[n][i] is not None}
        out.append(found or None)
    return out
