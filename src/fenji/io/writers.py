"""Write tables (results, fixed-up inputs, issue lists) as CSV, XLSX or Parquet.

Files written here must read back through :mod:`fenji.io.readers` unchanged and open cleanly in
Excel: CSV is UTF-8 with ISO dates and plain decimals (``87382.3``, never ``8.73823E4``), with a
BOM on request because Excel on Chinese Windows needs one to show UTF-8 Chinese; XLSX stores
numbers as numbers and dates as dates. A file is written under a temporary name and renamed, so
that a failed write never leaves half a file where a good one is expected.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

#: Data rows an XLSX sheet can hold below its header row.
XLSX_MAX_ROWS: Final = 1_048_575
_BATCH_ROWS: Final = 64 * 1024


def write_table(table: pa.Table, path: str | os.PathLike[str], *, bom: bool = False) -> None:
    """Write ``table`` to ``path`` as ``.csv``, ``.xlsx`` or ``.parquet`` (by extension).

    ``bom`` adds a UTF-8 byte order mark to a CSV so that Excel shows Chinese correctly.
    """
    target = Path(path)
    ext = target.suffix.casefold()
    writers = {
        ".csv": _write_csv,
        ".txt": _write_csv,
        ".xlsx": _write_xlsx,
        ".parquet": _write_parquet,
    }
    if ext not in writers:
        raise ValueError(
            f"cannot write {target.name}: the extension must be .csv, .xlsx or .parquet"
        )
    if ext == ".xlsx" and table.num_rows > XLSX_MAX_ROWS:
        raise ValueError(
            f"cannot write {table.num_rows} rows to {target.name}: an XLSX sheet holds at most "
            f"{XLSX_MAX_ROWS}; write CSV or Parquet instead"
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        writers[ext](table, partial, bom)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _plain_decimals(table: pa.Table) -> pa.Table:
    """Decimal columns as text without trailing zeros: ``101.0000`` → ``101``, no exponent."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale > 0:
            text = pc.cast(table.column(i), pa.string())
            text = pc.replace_substring_regex(text, r"\.?0+$", "")
            table = table.set_column(i, field.name, text)
    return table


def _write_csv(table: pa.Table, path: Path, bom: bool) -> None:
    # Arrow quotes every header cell; the header is written here to quote only where needed.
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)
    with path.open("wb") as out:
        if bom:
            out.write(codecs.BOM_UTF8)
        out.write(header.getvalue().encode("utf-8"))
        table = _plain_decimals(table)
        quoting = "needed" if _needs_quotes(table) else "none"
        options = pacsv.WriteOptions(include_header=False, quoting_style=quoting)
        pacsv.write_csv(table, out, write_options=options)


def _needs_quotes(table: pa.Table) -> bool:
    """Whether a text cell holds a quote, comma or line break.

    Arrow either quotes every text cell or none; files without such cells are written without
    quotes, as Excel writes them, which keeps them readable by people and simple tools.
    """
    return any(
        pc.any(pc.match_substring_regex(column, '[",\r\n]')).as_py()
        for column in table.columns
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    )


def _write_xlsx(table: pa.Table, path: Path, bom: bool) -> None:
    del bom  # only meaningful for CSV
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    bold = Font(bold=True)
    header = []
    for name in table.column_names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            sheet.append(row)
    book.save(path)


def _write_parquet(table: pa.Table, path: Path, bom: bool) -> None:
    del bom
    pq.write_table(table, path)
