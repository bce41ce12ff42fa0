"""CSV files to a :class:`RawTable` of text columns, at the speed of Arrow's parser.

Every column is read as text, whatever it looks like (customer ids such as ``00123`` must keep
their zeros, and values are parsed by :mod:`fenji.io.values` with Chinese forms Arrow does not
know). The header is read separately with Python's ``csv`` module so that the reader can name
the columns itself and ask Arrow for text columns by position.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.csv as pacsv

from fenji.io.encoding import first_invalid_utf8, guess_encoding, to_utf8, undecodable
from fenji.io.errors import MAX_ISSUES_PER_PROBLEM, DataIssue, Reason
from fenji.io.raw import RawTable, RowNumbers

_HEADER_BYTES: Final = 256 * 1024
_BLOCK_BYTES: Final = 8 * 1024 * 1024


class _InvalidUtf8(Exception):
    """Arrow met bytes that are not UTF-8 while converting the columns."""


@dataclass
class _BadRows:
    """Rows with more or fewer cells than the header, as Arrow's row handler reports them."""

    rows: list[tuple[int | None, str, int, int]] = field(default_factory=list)
    numbers: list[int | None] = field(default_factory=list)

    def __call__(self, row: pacsv.InvalidRow) -> str:
        # Every number is kept, to number the rows after it; details only for the first ones.
        self.numbers.append(row.number)
        if len(self.rows) < MAX_ISSUES_PER_PROBLEM:
            self.rows.append((row.number, row.text, row.actual_columns, row.expected_columns))
        return "skip"


def read_csv_raw(path: Path, *, file: str) -> RawTable:
    """Read ``path``, detecting its encoding, into text columns with their row numbers."""
    data = path.read_bytes()
    guess = guess_encoding(data)
    text = to_utf8(data, guess.encoding, file=file)
    if isinstance(text, DataIssue):
        return RawTable.failed(file, text)
    try:
        return _parse(text, file)
    except _InvalidUtf8:
        pass
    offset = first_invalid_utf8(text) or 0
    if guess.certain or not text[:offset].isascii():
        # Valid multi-byte UTF-8 before the bad byte: a damaged UTF-8 file, not GB18030.
        shift = len(data) - len(text)  # the BOM, when there was one
        return RawTable.failed(file, undecodable(data, offset + shift, guess.encoding, file=file))
    # Everything before the bad byte was ASCII: the file may well be GB18030 after all.
    text = to_utf8(data, "gb18030", file=file)
    if isinstance(text, DataIssue):
        return RawTable.failed(file, text)
    return _parse(text, file)


def _header(text: bytes) -> tuple[list[str], str]:
    """The header cells and the delimiter (a comma, or a tab as in Excel's 'Unicode text')."""
    prefix = text[:_HEADER_BYTES].decode("utf-8", errors="replace")
    first_line = prefix.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    header = next(csv.reader(io.StringIO(prefix), delimiter=delimiter), [])
    return header, delimiter


def _parse(text: bytes, file: str) -> RawTable:
    header, delimiter = _header(text)
    if not any(cell.strip() for cell in header):
        return RawTable.failed(
            file,
            DataIssue.of(
                "io.empty_file",
                Reason(
                    "the file has no header row",
                    "文件没有表头行",
                    "put the column names in the first row",
                    "请在第一行写上列名",
                ),
                file=file,
            ),
        )
    bad_rows = _BadRows()
    try:
        table = _arrow_read(text, len(header), delimiter, bad_rows, threads=True)
        if any(number is None for number in bad_rows.numbers):
            # Arrow numbers bad rows only when parsing on one thread; this is the error path.
            bad_rows = _BadRows()
            table = _arrow_read(text, len(header), delimiter, bad_rows, threads=False)
    except pa.ArrowInvalid as exc:
        if "invalid utf8" in str(exc).lower():
            raise _InvalidUtf8 from exc
        return RawTable.failed(file, _unreadable(file, str(exc)))
    issues = [_bad_row_issue(file, *row) for row in bad_rows.rows]
    rest = len(bad_rows.numbers) - len(bad_rows.rows)
    if rest > 0:
        issues.append(_more_bad_rows(file, rest))
    skipped = sorted(number for number in bad_rows.numbers if number is not None)
    return RawTable(
        file=file,
        headers=header,
        columns=list(table.columns),
        rows=RowNumbers(skipped=skipped),
        issues=issues,
    )


def _arrow_read(
    text: bytes, width: int, delimiter: str, bad_rows: _BadRows, *, threads: bool
) -> pa.Table:
    names = [f"f{i}" for i in range(width)]
    return pacsv.read_csv(
        pa.BufferReader(text),
        read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=1, block_size=_BLOCK_BYTES, use_threads=threads
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            # Values may span lines only inside quotes; allowing it makes Arrow split the file
            # into blocks sequentially, which halves the speed, so only when there are quotes.
            newlines_in_values=b'"' in text,
            ignore_empty_lines=False,  # an empty line is a spreadsheet row: keep the numbering
            invalid_row_handler=bad_rows,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=True,
        ),
    )


def _bad_row_issue(
    file: str, number: int | None, text: str, actual: int, expected: int
) -> DataIssue:
    return DataIssue.of(
        "io.bad_row",
        Reason(
            f"has {actual} cells but the header has {expected}",
            f"有 {actual} 个单元格，但表头有 {expected} 列",
            "put a value that contains a comma in double quotes, and remove stray separators",
            "含逗号的值请用英文双引号括起来，并删除多余的分隔符",
        ),
        file=file,
        row=number,
        value=text,
    )


def _more_bad_rows(file: str, rest: int) -> DataIssue:
    return DataIssue.of(
        "io.more_issues",
        Reason(
            f"{rest} more rows have a different number of cells than the header",
            f"另有 {rest} 行的单元格数与表头不一致",
            "put a value that contains a comma in double quotes, and remove stray separators",
            "含逗号的值请用英文双引号括起来，并删除多余的分隔符",
        ),
        file=file,
    )


def _unreadable(file: str, detail: str) -> DataIssue:
    return DataIssue.of(
        "io.bad_file",
        Reason(
            f"the file cannot be read as CSV ({detail})",
            f"无法按 CSV 读取该文件（{detail}）",
            "check for an unclosed double quote, or save the file again from Excel as CSV",
            "请检查是否有未闭合的双引号，或用 Excel 重新另存为 CSV",
        ),
        file=file,
    )
