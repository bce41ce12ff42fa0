"""A raw table to the canonical table of its source, with every problem found on the way.

This is the one place where the rules of the canonical format are applied, whatever the file
format: headers are resolved, each column is parsed to its canonical type, rows that are
entirely blank are dropped (spreadsheets are full of them), required values and unique keys are
checked, absent optional columns are added as nulls and columns are put in catalogue order.

Everything is computed on whole columns; Python only loops over the rows that have a problem,
and at most :data:`MAX_ISSUES_PER_PROBLEM` of them per column and problem, so that a file where a
whole column is wrong still fails fast with a readable error.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from fenji.io.errors import MAX_ISSUES_PER_PROBLEM, DataIssue, Reason
from fenji.io.headers import resolve_headers
from fenji.io.raw import RawTable, RowNumbers
from fenji.io.typed import as_text, is_text, parse_typed
from fenji.io.values import ARROW_TYPES, explain
from fenji.policy.sources import ColumnType, Source


@dataclass(frozen=True)
class Coerced:
    """The canonical table of one file, the issues found, and the file row of each table row.

    The table is built even when there are issues (with nulls where values were bad) so that
    checks across files can still run; it is never handed to callers in that case.
    """

    file: str
    table: pa.Table | None
    issues: list[DataIssue]
    rows: RowNumbers
    positions: pa.Array | None = None  # raw index of each table row; None when none was dropped
    #: By raw index: rows with a value that could not be read or a required value missing, all
    #: of them (issues stop at MAX_ISSUES_PER_PROBLEM), so an import can hand every one back.
    flagged: pa.ChunkedArray | None = None

    def row_of(self, index: int) -> int:
        raw = index if self.positions is None else self.positions[index].as_py()
        return self.rows(raw)


@dataclass(frozen=True)
class _Column:
    values: pa.ChunkedArray
    bad: pa.ChunkedArray


def coerce(raw: RawTable, source: Source, explicit: Mapping[str, str] | None) -> Coerced:
    """Turn ``raw`` into the canonical table of ``source``; ``explicit`` maps headers to names."""
    issues = list(raw.issues)
    if not raw.readable:
        return Coerced(raw.file, None, issues, raw.rows)
    kinds: dict[str, ColumnType] = {col.name: col.type for col in source.columns}
    headers, columns = _named_columns(raw)
    names, header_issues = resolve_headers(headers, source, explicit, file=raw.file)
    issues.extend(header_issues)

    parsed: dict[str, _Column] = {}
    flagged: pa.ChunkedArray | None = None
    for name, column in zip(names, columns, strict=True):
        kind = kinds.get(name, "string")
        result = parse_typed(column, kind)
        if result is None:
            issues.append(_bad_type(raw.file, name, column.type, kind))
            continue
        if name not in parsed:
            parsed[name] = _Column(result.values, result.bad)
        if pc.any(result.bad).as_py():
            issues.extend(_value_issues(raw, name, kind, column, result.bad, result.detail))
            flagged = result.bad if flagged is None else pc.or_(flagged, result.bad)

    content = _rows_with_content(parsed.values(), raw.num_rows)
    for col in source.columns:
        if col.required and col.name in parsed:
            found = _missing_values(raw, col.name, parsed[col.name], content)
            if found:
                issues.extend(found)
                blank = pc.and_(pc.is_null(parsed[col.name].values), content)
                flagged = blank if flagged is None else pc.or_(flagged, blank)
    issues.extend(_duplicate_keys(raw, source, parsed, content))

    table = _assemble(source, parsed, raw.num_rows, kinds)
    positions = None
    if not pc.all(content).as_py() and table.num_rows:
        positions = pc.indices_nonzero(content)
        table = table.filter(content)
    return Coerced(raw.file, table, issues, raw.rows, positions, flagged)


def _named_columns(raw: RawTable) -> tuple[list[str], list[pa.ChunkedArray]]:
    """Columns with a header, plus those without one that hold data (named ``column_<n>``)."""
    headers: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for i, (header, column) in enumerate(zip(raw.headers, raw.columns, strict=True)):
        if not header.strip():
            text = parse_typed(column, "string")
            if text is None or text.values.null_count == len(column):
                continue  # a trailing separator or an unused sheet column: nothing there
            header = f"column_{i + 1}"
        headers.append(header)
        columns.append(column)
    return headers, columns


def _rows_with_content(columns: Iterable[_Column], num_rows: int) -> pa.ChunkedArray:
    """True for rows with at least one non-blank cell; wholly blank rows are not records."""
    content = None
    for col in columns:
        has = pc.or_(pc.is_valid(col.values), col.bad)
        content = has if content is None else pc.or_(content, has)
    if content is None:
        return pa.chunked_array([pc.is_null(pa.nulls(num_rows))])  # all true
    return content


def _assemble(
    source: Source, parsed: Mapping[str, _Column], num_rows: int, kinds: Mapping[str, ColumnType]
) -> pa.Table:
    """Catalogue columns in catalogue order (nulls when absent), then the extra columns."""
    arrays: dict[str, pa.ChunkedArray | pa.Array] = {}
    for col in source.columns:
        if col.name in parsed:
            arrays[col.name] = parsed[col.name].values
        else:
            arrays[col.name] = pa.nulls(num_rows, ARROW_TYPES[col.type])
    for name, column in parsed.items():
        if name not in kinds:
            arrays[name] = column.values
    return pa.table(arrays)


def _shown(raw: pa.ChunkedArray, indices: Sequence[int]) -> list[str | None]:
    taken = raw.take(pa.array(indices, pa.int64()))
    texts = taken if is_text(taken.type) else as_text(taken)
    return [None if t is None else str(t).strip() for t in texts.to_pylist()]


def _capped(
    raw: RawTable,
    mask: pa.ChunkedArray,
    column: str,
    build: Callable[[list[int]], Iterable[DataIssue]],
    more: Callable[[int], Reason],
) -> list[DataIssue]:
    """Issues for the rows where ``mask`` is true: the first ones in detail, then a count."""
    indices = pc.indices_nonzero(mask)
    shown = indices.slice(0, MAX_ISSUES_PER_PROBLEM).to_pylist()
    issues = list(build(shown))
    rest = len(indices) - len(shown)
    if rest > 0:
        issues.append(DataIssue.of("io.more_issues", more(rest), file=raw.file, column=column))
    return issues


def _value_issues(
    raw: RawTable,
    name: str,
    kind: ColumnType,
    column: pa.ChunkedArray,
    bad: pa.ChunkedArray,
    detail: pa.ChunkedArray | None,
) -> list[DataIssue]:
    def build(indices: list[int]) -> Iterable[DataIssue]:
        values = _shown(column, indices)
        details: list[str | None] = [None] * len(indices)
        if detail is not None:
            details = detail.take(pa.array(indices, pa.int64())).to_pylist()
        for index, value, why in zip(indices, values, details, strict=True):
            code, reason = explain(kind, value or "", why)
            yield DataIssue.of(
                code, reason, file=raw.file, row=raw.rows(index), column=name, value=value
            )

    def more(rest: int) -> Reason:
        return Reason(
            f"{rest} more cells cannot be read as {kind} values",
            f"另有 {rest} 个单元格无法读取为 {kind} 类型",
            "fix the cells listed above first; the others are likely alike",
            "请先修正上面列出的单元格；其余的多半是同样的问题",
        )

    return _capped(raw, bad, name, build, more)


def _missing_values(
    raw: RawTable, name: str, column: _Column, content: pa.ChunkedArray
) -> list[DataIssue]:
    blank = pc.and_(pc.and_(pc.is_null(column.values), pc.invert(column.bad)), content)
    if not pc.any(blank).as_py():
        return []
    reason = Reason(
        f"{name} is required but the cell is empty",
        f"{name} 是必填项，但单元格为空",
        "fill it in, or delete the row",
        "请填写，或删除这一行",
    )

    def build(indices: list[int]) -> Iterable[DataIssue]:
        for index in indices:
            yield DataIssue.of(
                "io.missing_value", reason, file=raw.file, row=raw.rows(index), column=name
            )

    def more(rest: int) -> Reason:
        return reason._replace(
            message=f"{rest} more rows have no {name}",
            message_zh=f"另有 {rest} 行缺少 {name}",
        )

    return _capped(raw, blank, name, build, more)


def _strictly_increasing(values: pa.ChunkedArray) -> bool:
    """True when sorted without repeats: ids exported in order need no hashing."""
    if len(values) < 2 or values.null_count:
        return len(values) < 2
    return bool(pc.all(pc.greater(values[1:], values[:-1]), min_count=0).as_py())


def _duplicate_keys(
    raw: RawTable, source: Source, parsed: Mapping[str, _Column], content: pa.ChunkedArray
) -> list[DataIssue]:
    """``io.duplicate_key`` for each repeat of a key, naming the row where it first appears."""
    if not source.key or any(name not in parsed for name in source.key):
        return []
    keys = [parsed[name].values for name in source.key]
    if len(keys) == 1 and _strictly_increasing(keys[0]):
        return []
    # Rows with a required key part missing are reported as missing values, not duplicates.
    usable = content
    for name, values in zip(source.key, keys, strict=True):
        if source.column(name).required:
            usable = pc.and_(usable, pc.is_valid(values))
    names = [f"k{i}" for i in range(len(keys))]
    table = pa.table(dict(zip(names, keys, strict=True))).filter(usable)
    counts = table.group_by(names).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    if repeated.num_rows == 0:
        return []
    total = pc.sum(repeated["count_all"]).as_py() - repeated.num_rows
    repeated = repeated.slice(0, MAX_ISSUES_PER_PROBLEM)
    # Narrow down to rows whose every key part occurs in some repeated key, then group exactly.
    candidate = usable
    for name, values in zip(names, keys, strict=True):
        allowed = pc.unique(repeated[name].combine_chunks())
        candidate = pc.and_(candidate, pc.is_in(values, value_set=allowed, skip_nulls=False))
    indices = pc.indices_nonzero(candidate).to_pylist()
    seen: dict[tuple[object, ...], int] = {}
    repeats: defaultdict[int, list[int]] = defaultdict(list)
    columns = [k.take(pa.array(indices, pa.int64())).to_pylist() for k in keys]
    for position, index in enumerate(indices):
        key = tuple(column[position] for column in columns)
        if key in seen:
            repeats[seen[key]].append(index)
        else:
            seen[key] = index
    firsts = {index: key for key, index in seen.items()}
    label = ", ".join(source.key)
    issues: list[DataIssue] = []
    for first, later in sorted(repeats.items()):
        if len(issues) >= MAX_ISSUES_PER_PROBLEM:
            break
        value = ", ".join(
            _key_text(v, source.column(n).type)
            for v, n in zip(firsts[first], source.key, strict=True)
        )
        first_row = raw.rows(first)
        for index in later:
            if len(issues) >= MAX_ISSUES_PER_PROBLEM:
                break
            issues.append(
                DataIssue.of(
                    "io.duplicate_key",
                    Reason(
                        f"the same {label} is already on row {first_row}",
                        f"相同的 {label} 已出现在第 {first_row} 行",
                        f"keep one row per {label}: delete or correct rows {first_row} and "
                        f"{raw.rows(index)}",
                        f"每个 {label} 只能有一行：请删除或更正第 {first_row} 行和第 "
                        f"{raw.rows(index)} 行之一",
                    ),
                    file=raw.file,
                    row=raw.rows(index),
                    column=label,
                    value=value,
                )
            )
    if total > len(issues):
        issues.append(
            DataIssue.of(
                "io.more_issues",
                Reason(
                    f"{total - len(issues)} more rows repeat the {label} of an earlier row",
                    f"另有 {total - len(issues)} 行与前面的行 {label} 重复",
                    f"keep one row per {label}",
                    f"每个 {label} 只能有一行",
                ),
                file=raw.file,
                column=label,
            )
        )
    return issues


def _key_text(value: object, kind: ColumnType) -> str:
    if value is None:
        return ""
    if kind == "month" and isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _bad_type(file: str, name: str, type_: pa.DataType, kind: ColumnType) -> DataIssue:
    return DataIssue.of(
        "io.bad_type",
        Reason(
            f"the column holds {type_} values, which cannot be read as {kind}",
            f"该列的类型是 {type_}，无法作为 {kind} 读取",
            f"write the column as text or as {kind} values",
            f"请把该列写成文本或 {kind} 类型",
        ),
        file=file,
        column=name,
    )
