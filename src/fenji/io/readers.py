"""Read source files into canonical Arrow tables, or fail with every problem at once.

:func:`read_source` reads one file of a known source; :func:`read_dataset` reads the files of a
data folder (``customers.csv``, ``orders.parquet``, ...) and also checks that every fact refers
to a known customer. Both either return complete, valid tables or raise one
:class:`~fenji.io.errors.DataError` listing the issues of all files: a partial result would let
a grading run silently miss the rows that failed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from fenji.io.coerce import Coerced, coerce
from fenji.io.csvfile import read_csv_raw
from fenji.io.errors import MAX_ISSUES_PER_PROBLEM, DataError, DataIssue, Reason
from fenji.io.headers import column_kinds
from fenji.io.parquetfile import read_parquet_raw
from fenji.io.raw import RawTable
from fenji.io.xlsxfile import read_xlsx_raw
from fenji.policy.sources import BUILTIN_SOURCES, CUSTOMERS, Source

#: File extensions by format, in the order :func:`read_dataset` looks for them.
CSV_EXTENSIONS: Final = (".csv", ".txt")
XLSX_EXTENSIONS: Final = (".xlsx", ".xlsm")
PARQUET_EXTENSIONS: Final = (".parquet",)
DATASET_EXTENSIONS: Final = (".csv", ".parquet", ".xlsx")

StrPath = str | os.PathLike[str]


def read_source(
    path: StrPath,
    source: Source,
    *,
    sheet: str | int | None = None,
    headers: Mapping[str, str] | None = None,
) -> pa.Table:
    """Read one file of ``source`` (CSV, XLSX or Parquet, by extension) as a canonical table.

    ``sheet`` picks an XLSX sheet by name or 0-based position (default: the first).
    ``headers`` maps file headers to column names where the built-in recognition is not enough.
    Raises :class:`DataError` with every issue found.
    """
    result = _read(Path(path), source, sheet=sheet, headers=headers)
    if result.issues or result.table is None:
        raise DataError(result.issues)
    return result.table


def coerce_table(table: pa.Table, source: Source, *, file: str = "<table>") -> pa.Table:
    """An in-memory table (from pandas, Polars, a query) coerced exactly as a file would be.

    ``file`` names the table in issues; rows are numbered as in a spreadsheet of the table
    (the first row is row 2, under the header). Raises :class:`DataError` with every issue.
    """
    raw = RawTable(file=file, headers=list(table.column_names), columns=list(table.columns))
    result = coerce(raw, source, None)
    if result.issues or result.table is None:
        raise DataError(result.issues)
    return result.table


def read_dataset(
    directory: StrPath,
    names: Iterable[str] | None = None,
    sources: Mapping[str, Source] | None = None,
    *,
    headers: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, pa.Table]:
    """Read the sources found in ``directory``, by name; absent sources are not in the result.

    ``names`` defaults to every source in ``sources`` (default: the built-in catalogue). Each
    source may be ``<name>.csv``, ``<name>.parquet`` or ``<name>.xlsx``, but only one of them.
    When ``customers`` is read, every ``customer_id`` of the other tables must be in it.
    ``headers`` gives an explicit header mapping per source name. Raises :class:`DataError`
    with the issues of all files.
    """
    catalogue = BUILTIN_SOURCES if sources is None else sources
    wanted = list(catalogue) if names is None else list(names)
    unknown = [name for name in wanted if name not in catalogue]
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {sorted(catalogue)}")
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError([_not_found(folder, "folder")])

    by_name: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        stem, ext = entry.stem.casefold(), entry.suffix.casefold()
        if entry.is_file() and ext in DATASET_EXTENSIONS:
            by_name.setdefault(stem, []).append(entry)

    issues: list[DataIssue] = []
    results: dict[str, Coerced] = {}
    for name in wanted:
        files = by_name.get(name.casefold(), [])
        if len(files) > 1:
            issues.append(_ambiguous(name, files))
        elif files:
            source_headers = (headers or {}).get(name)
            results[name] = _read(files[0], catalogue[name], sheet=None, headers=source_headers)
            issues.extend(results[name].issues)
    issues.extend(_unknown_customers(results))
    if issues:
        raise DataError(issues)
    return {name: result.table for name, result in results.items() if result.table is not None}


def _read(
    path: Path,
    source: Source,
    *,
    sheet: str | int | None,
    headers: Mapping[str, str] | None,
) -> Coerced:
    return coerce(read_raw(path, source, sheet=sheet, headers=headers), source, headers)


def read_raw(
    path: StrPath,
    source: Source,
    *,
    sheet: str | int | None = None,
    headers: Mapping[str, str] | None = None,
) -> RawTable:
    """The cells of one file under its headers as written, before any column is interpreted.

    For callers that must give rows back as they were written (an import's file of rejected
    rows); :func:`fenji.io.coerce.coerce` turns the result into the canonical table.
    ``source`` and ``headers`` only tell the XLSX reader which cells are dates.
    """
    path = Path(path)
    file = str(path)
    ext = path.suffix.casefold()
    if not path.is_file():
        return RawTable.failed(file, _not_found(path, "file"))
    if ext in CSV_EXTENSIONS:
        return read_csv_raw(path, file=file)
    if ext in XLSX_EXTENSIONS:
        return read_xlsx_raw(
            path, file=file, sheet=sheet, kinds=lambda hs: column_kinds(hs, source, headers)
        )
    if ext in PARQUET_EXTENSIONS:
        return read_parquet_raw(path, file=file)
    return RawTable.failed(file, _unsupported(path))


def _unknown_customers(results: Mapping[str, Coerced]) -> list[DataIssue]:
    """``io.unknown_customer`` for facts whose customer is not in the customers table."""
    customers = results.get(CUSTOMERS.name)
    if customers is None or customers.table is None:
        return []
    known = pc.unique(customers.table["customer_id"].combine_chunks()).drop_null()
    customers_file = Path(customers.file).name
    issues: list[DataIssue] = []
    for name, result in results.items():
        table = result.table
        if name == CUSTOMERS.name or table is None or "customer_id" not in table.column_names:
            continue
        ids = table["customer_id"]
        unknown = pc.and_(pc.is_valid(ids), pc.invert(pc.is_in(ids, value_set=known)))
        indices = pc.indices_nonzero(unknown)
        if len(indices) == 0:
            continue
        reason = Reason(
            f"customer is not in {customers_file}",
            f"该客户不在 {customers_file} 中",
            f"add the customer to {customers_file}, or correct the customer id",
            f"请把该客户加入 {customers_file}，或更正客户编号",
        )
        shown = indices.slice(0, MAX_ISSUES_PER_PROBLEM).to_pylist()
        values = ids.take(pa.array(shown, pa.int64())).to_pylist()
        for index, value in zip(shown, values, strict=True):
            issues.append(
                DataIssue.of(
                    "io.unknown_customer",
                    reason,
                    file=result.file,
                    row=result.row_of(index),
                    column="customer_id",
                    value=value,
                )
            )
        if len(indices) > len(shown):
            rest = len(indices) - len(shown)
            issues.append(
                DataIssue.of(
                    "io.more_issues",
                    reason._replace(
                        message=f"{rest} more rows refer to customers not in {customers_file}",
                        message_zh=f"另有 {rest} 行的客户不在 {customers_file} 中",
                    ),
                    file=result.file,
                    column="customer_id",
                )
            )
    return issues


def _not_found(path: Path, what: str) -> DataIssue:
    return DataIssue.of(
        "io.file_not_found",
        Reason(
            f"{what} {str(path)!r} does not exist",
            f"{'文件夹' if what == 'folder' else '文件'} {str(path)!r} 不存在",
            "check the path",
            "请检查路径",
        ),
        file=str(path),
    )


def _ambiguous(name: str, files: list[Path]) -> DataIssue:
    listed = ", ".join(f.name for f in files)
    return DataIssue.of(
        "io.duplicate_file",
        Reason(
            f"source {name!r} is given more than once ({listed})",
            f"数据源 {name!r} 出现了多个文件（{listed}）",
            "keep only one file per source",
            "每个数据源只保留一个文件",
        ),
        file=str(files[0].parent / name),
    )


def _unsupported(path: Path) -> DataIssue:
    accepted = ", ".join((*CSV_EXTENSIONS, *XLSX_EXTENSIONS, *PARQUET_EXTENSIONS))
    return DataIssue.of(
        "io.unsupported_format",
        Reason(
            f"files of type {path.suffix or '(none)'!r} cannot be read",
            f"无法读取 {path.suffix or '（无扩展名）'} 类型的文件",
            f"save it as one of: {accepted}",
            f"请另存为以下格式之一：{accepted}",
        ),
        file=str(path),
    )
