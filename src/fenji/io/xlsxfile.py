"""XLSX sheets to a :class:`RawTable` of text columns, written as the user sees the cells.

Excel cells are typed (numbers, dates, booleans, text), but one column often mixes them: a date
column holds real dates, serial numbers from a paste, and typed-in text. Each cell is therefore
turned into the text that the CSV parsers accept, using the canonical type of its column: a
number in a date column is an Excel serial day, a float in a money column is shown with the 15
significant digits Excel shows (so that ``0.1 + 0.2`` stays ``0.3``), an integral float in an
id column loses its ``.0``. The text then goes through the same parsers and checks as a CSV.

openpyxl yields cells one by one, so this reader loops over cells in Python; sheets hold at
most about a million rows, and large data should come as CSV or Parquet.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Final

import pyarrow as pa
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from fenji.io.errors import DataIssue, Reason
from fenji.io.raw import RawTable, RowNumbers
from fenji.policy.sources import ColumnType

_LAST_SERIAL: Final = 2958465  # 9999-12-31, the last day Excel knows
_HEADER_SEARCH_ROWS: Final = 10
_Converter = Callable[[object], str | None]


def read_xlsx_raw(
    path: Path,
    *,
    file: str,
    sheet: str | int | None,
    kinds: Callable[[list[str]], Sequence[ColumnType | None]],
) -> RawTable:
    """Read one sheet (the first unless ``sheet`` names or numbers one, from 0).

    ``kinds`` gives the canonical type of each column from a header row (None for a column that
    is not in the catalogue), so that each cell can be written out as that type expects.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not read
            book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        return RawTable.failed(file, _unreadable(file, f"not an XLSX workbook: {exc}"))
    try:
        names = list(book.sheetnames)
        if sheet is None:
            worksheet = book.worksheets[0]
        elif isinstance(sheet, int) and 0 <= sheet < len(names):
            worksheet = book.worksheets[sheet]
        elif isinstance(sheet, str) and sheet in names:
            worksheet = book[sheet]
        else:
            return RawTable.failed(
                file, _unreadable(file, f"no sheet {sheet!r}; the workbook has {names}")
            )
        worksheet.reset_dimensions()  # some writers store wrong dimensions; do not trust them
        rows = worksheet.iter_rows(values_only=True)
        return _read_sheet(rows, book.epoch, file, kinds)
    finally:
        book.close()


class _Sheet:
    """The columns of a sheet as they are collected, row by row, under a chosen header."""

    def __init__(self, header: list[str], kinds: Sequence[ColumnType | None], epoch: dt.datetime):
        self.header = header
        self.epoch = epoch
        self.converters = [_converter(kind or "string", epoch) for kind in kinds]
        self.cells: list[list[str | None]] = [[] for _ in header]
        self.numbers: list[int] = []

    def add(self, number: int, row: Sequence[object]) -> None:
        if len(row) > len(self.header):
            # Cells right of the header: keep them under a blank header so that they are seen.
            extra = len(row) - len(self.header)
            self.header.extend([""] * extra)
            self.converters.extend([_converter("string", self.epoch)] * extra)
            self.cells.extend([[None] * len(self.numbers) for _ in range(extra)])
        self.numbers.append(number)
        for i, convert in enumerate(self.converters):
            self.cells[i].append(convert(row[i]) if i < len(row) else None)

    def table(self, file: str) -> RawTable:
        columns = [pa.chunked_array([pa.array(values, pa.string())]) for values in self.cells]
        rows = RowNumbers(explicit=self.numbers)
        return RawTable(file=file, headers=self.header, columns=columns, rows=rows)


def _read_sheet(
    rows: Iterable[Sequence[object]],
    epoch: dt.datetime,
    file: str,
    kinds: Callable[[list[str]], Sequence[ColumnType | None]],
) -> RawTable:
    """Collect the sheet under its header row.

    ERP exports often put a title and notes above the header, so the header is the first of
    the first :data:`_HEADER_SEARCH_ROWS` non-empty rows that names a known column; failing
    that, the first non-empty row (and the missing columns are then reported).
    """
    sheet: _Sheet | None = None
    above: list[tuple[int, Sequence[object]]] = []  # non-empty rows while looking for the header
    for number, row in enumerate(rows, start=1):
        if sheet is not None:
            sheet.add(number, row)
            continue
        if not any(_shown(value) for value in row):
            if above:
                above.append((number, row))
            continue
        header = [_shown(value) for value in row]
        header_kinds = kinds(header)
        if any(kind is not None for kind in header_kinds):
            sheet = _Sheet(header, header_kinds, epoch)
            continue
        above.append((number, row))
        if sum(1 for _, r in above if any(_shown(v) for v in r)) >= _HEADER_SEARCH_ROWS:
            sheet = _from_first(above, kinds, epoch)
    if sheet is None and above:
        sheet = _from_first(above, kinds, epoch)
    if sheet is None:
        return RawTable.failed(
            file,
            DataIssue.of(
                "io.empty_file",
                Reason(
                    "the sheet is empty",
                    "工作表是空的",
                    "put the column names in the first row and the data below",
                    "请在第一行写列名，下面写数据",
                ),
                file=file,
            ),
        )
    return sheet.table(file)


def _from_first(
    above: list[tuple[int, Sequence[object]]],
    kinds: Callable[[list[str]], Sequence[ColumnType | None]],
    epoch: dt.datetime,
) -> _Sheet:
    header = [_shown(value) for value in above[0][1]]
    sheet = _Sheet(header, kinds(header), epoch)
    for number, row in above[1:]:
        sheet.add(number, row)
    return sheet


def _shown(value: object) -> str:
    return "" if value is None else str(value).strip()


def _number_text(value: float) -> str:
    """A float as Excel shows it: 15 significant digits, no exponent, no ``.0``."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(f"{value:.15g}"), "f")


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _converter(kind: ColumnType, epoch: dt.datetime) -> _Converter:
    if kind not in ("date", "month"):
        return _as_text

    def date_text(value: object) -> str | None:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _as_text(value)
        if 0 < value < _LAST_SERIAL + 1:
            return str(from_excel(value, epoch).date().isoformat())
        return _as_text(value)

    return date_text


def _unreadable(file: str, detail: str) -> DataIssue:
    return DataIssue.of(
        "io.bad_file",
        Reason(
            f"the workbook cannot be read ({detail})",
            f"无法读取该工作簿（{detail}）",
            "save it again from Excel as .xlsx (not .xls or .et)",
            "请用 Excel 重新另存为 .xlsx 格式（不是 .xls 或 .et）",
        ),
        file=file,
    )
