"""The error file of an import: just the rejected rows, as written, plus what is wrong.

Modelled on HubSpot's import error file: the rows come back with their original headers and
cells (not the parsed values, which may be empty exactly where the problem is), in file order,
with one more column ``错误/error`` that names the row, column, value and fix. The file can be
corrected in Excel and imported as it is: the importer ignores the error column.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

import pyarrow as pa

from fenji.io.errors import DataIssue, Language
from fenji.io.raw import RawTable
from fenji.io.readers import XLSX_EXTENSIONS
from fenji.io.writers import write_table
from fenji.web.facts.importing.reading import ERROR_COLUMN, Rows

#: Extensions an error file may be written as.
ERROR_FILE_EXTENSIONS: Final = (".csv", ".xlsx", ".parquet")

_UNLISTED: Final = {
    "zh": "该行有无法读取或缺少的值（同类问题太多，未逐一列出），请对照上面列出的同类问题修改",
    "en": "a value cannot be read or a required value is missing (too many problems of the same "
    "kind to list each); correct it like the ones listed",
}


def default_error_path(path: Path) -> Path:
    """Next to the input: ``orders.csv`` -> ``orders.errors.csv``; XLSX stays XLSX, and the
    rows of a Parquet file come back as CSV so that they can be corrected in a spreadsheet."""
    ext = ".xlsx" if path.suffix.casefold() in XLSX_EXTENSIONS else ".csv"
    return path.with_name(f"{path.stem}.errors{ext}")


def write_rejects(
    *,
    raw: RawTable,
    rows: Rows,
    raw_indices: Iterable[int],
    issues: Sequence[DataIssue],
    target: Path,
    lang: Language,
) -> int:
    """Write the rejected rows of ``raw`` to ``target``; the number of rows written.

    ``raw_indices`` are the rejected rows that were read; lines the CSV reader could not split
    into the header's columns (``io.bad_row``) are added from the issues, their cells split as
    far as they go.
    """
    by_row: defaultdict[int, list[DataIssue]] = defaultdict(list)
    for issue in issues:
        if issue.row is not None:
            by_row[issue.row].append(issue)
    entries: list[tuple[int, int | list[str]]] = [(rows.row(i), i) for i in sorted(raw_indices)]
    for issue in issues:
        if issue.code == "io.bad_row" and issue.row is not None:
            entries.append((issue.row, _cells(issue.value or "", len(raw.headers))))
    entries.sort(key=lambda entry: entry[0])

    if all(isinstance(source, int) for _, source in entries):
        taken = pa.array([source for _, source in entries], pa.int64())
        columns = [column.take(taken) for column in raw.columns]
    else:  # only CSV has malformed lines, and its columns are text
        columns = []
        for position, column in enumerate(raw.columns):
            values = column.to_pylist()
            columns.append(
                pa.array(
                    [
                        values[source] if isinstance(source, int) else source[position]
                        for _, source in entries
                    ],
                    pa.string(),
                )
            )
    messages = [_message(row, by_row.get(row, []), lang) for row, _ in entries]
    table = pa.Table.from_arrays(
        [*columns, pa.array(messages, pa.string())], names=[*raw.headers, ERROR_COLUMN]
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_table(table, target, bom=True)
    return int(table.num_rows)


def _message(row: int, issues: list[DataIssue], lang: Language) -> str:
    head = f"第 {row} 行：" if lang == "zh" else f"row {row}: "
    if not issues:
        return head + _UNLISTED[lang]
    texts = [dataclasses.replace(i, file="", row=None).format(lang) for i in issues]
    return head + " | ".join(texts)


def _cells(line: str, width: int) -> list[str]:
    """A malformed line split as the reader would, padded or cut to the header's width (the
    error column quotes the whole line)."""
    delimiter = "\t" if line.count("\t") > line.count(",") else ","
    cells = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    return (cells + [""] * width)[:width]
