"""Arrow building blocks and the chunked writer for the canonical demo tables.

The generator produces tens of millions of rows, so every column is built from numpy arrays
without a Python object per value: identifiers are assembled as fixed-width bytes, exact
decimals directly from their unscaled integers, dates from day numbers. The writer buffers
tables and writes them in slices of ``chunk_rows`` rows, so the memory held at any time is one
slice plus one shard of generated rows, whatever the total size.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from fenji.policy.sources import BUILTIN_SOURCES, DECIMAL_PRECISION, DECIMAL_SCALE, Source
from fenji.web.facts.importing.sources import CRM_SOURCES

Format = Literal["parquet", "csv"]

DECIMAL = pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)
#: Unscaled units per whole number at the canonical scale (4 digits after the point).
UNITS = 10**DECIMAL_SCALE

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date": pa.date32(),
    "decimal": DECIMAL,
    "boolean": pa.bool_(),
    # A month is stored as the first day of the month (see fenji.policy.sources.TARGETS).
    "month": pa.date32(),
    "integer": pa.int64(),
}


def canonical_schema(source: str) -> pa.Schema:
    """The Parquet schema of a built-in source, or of the follow-ups and feedback the system
    of record imports, in the column order of the catalogue.

    The optional ``status`` column of orders is left out: the demo has no cancelled orders.
    """
    src: Source = BUILTIN_SOURCES[source] if source in BUILTIN_SOURCES else CRM_SOURCES[source]
    return pa.schema(
        [
            pa.field(c.name, _ARROW_TYPES[c.type])
            for c in src.columns
            if c.name not in src.optional_columns
        ]
    )


#: Digits after the point when a decimal column is written to CSV. Money and tonnes are
#: generated in hundredths, targets in whole yuan and points are integers, so nothing is lost.
CSV_SCALES: dict[str, dict[str, int]] = {
    "orders": {"amount": 2, "quantity": 2},
    "receivables": {"amount": 2},
    "targets": {"target_amount": 0},
    "score_events": {"points": 0},
    "feedback": {"score": 0},
}


def fixed_width_ids(prefix: str, start: int, count: int, width: int) -> pa.Array:
    """Identifiers ``prefix`` + zero-padded ``start .. start+count-1``, e.g. ``O0000001``.

    Built as one byte matrix (a row per identifier) instead of formatting strings one by one,
    which matters at 50 million orders.
    """
    head = prefix.encode("ascii")
    row_len = len(head) + width
    numbers = np.arange(start, start + count, dtype=np.int64)
    if count and numbers[-1] >= 10**width:
        raise ValueError(f"identifier {prefix}{numbers[-1]} does not fit in {width} digits")
    matrix = np.empty((count, row_len), dtype=np.uint8)
    matrix[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    for pos in range(width):
        power = 10 ** (width - 1 - pos)
        matrix[:, len(head) + pos] = (numbers // power) % 10 + ord("0")
    offsets = np.arange(0, (count + 1) * row_len, row_len, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())]
    )


def decimal_array(units: np.ndarray) -> pa.Array:
    """Exact decimals from their unscaled int64 values at the canonical scale.

    ``units`` = value x 10^4, so 12.34 is 123400. A decimal128 is a 16-byte little-endian
    two's-complement integer: the low word is the value, the high word its sign extension.
    """
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((units.size, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = np.where(units < 0, -1, 0)
    return pa.Array.from_buffers(DECIMAL, units.size, [None, pa.py_buffer(words.tobytes())])


def date_array(epoch_days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A date32 column from days since 1970-01-01; rows where ``valid`` is False are null."""
    days = np.asarray(epoch_days, dtype=np.int32)
    if valid is None:
        return pa.array(days, type=pa.date32())
    return pa.array(days, type=pa.date32(), mask=~np.asarray(valid, dtype=bool))


def take_strings(values: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """A string column choosing ``values[index[i]]`` for every row (index < 0 gives null)."""
    idx = np.asarray(index, dtype=np.int32)
    indices = pa.array(idx, mask=idx < 0) if (idx < 0).any() else pa.array(idx)
    return pc.take(pa.array(values, type=pa.string()), indices)


def _to_csv_table(table: pa.Table, scales: dict[str, int]) -> pa.Table:
    """Render the columns whose CSV text differs from Arrow's default.

    Decimals get the digits of ``scales`` (``12.3400`` would be noise in a file people open
    in a spreadsheet), and months are written ``YYYY-MM`` as the import format says.
    """
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name in scales:
            column = column.cast(pa.decimal128(DECIMAL_PRECISION, scales[name])).cast(pa.string())
        elif name == "month":
            column = pc.strftime(column, format="%Y-%m")
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class TableSink:
    """Writes one canonical table to ``<out_dir>/<name>.<fmt>`` in slices of ``chunk_rows``.

    Tables handed to :meth:`write` are buffered until a full slice is available, so Parquet
    row groups have ``chunk_rows`` rows however the generator happened to cut its work, and
    CSV bytes do not depend on ``chunk_rows`` at all. The file is written under a temporary
    name and renamed on :meth:`close`, so an interrupted run never leaves a file that looks
    complete.
    """

    def __init__(self, out_dir: Path, name: str, fmt: Format, chunk_rows: int) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self.name = name
        self.schema = canonical_schema(name)
        self.path = out_dir / f"{name}.{fmt}"
        self._tmp = out_dir / f".{name}.{fmt}.partial"
        self._fmt = fmt
        self._chunk_rows = chunk_rows
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pa_csv.CSVWriter | None = None
        self._file: BinaryIO | None = None
        if fmt == "parquet":
            self._parquet = pq.ParquetWriter(self._tmp, self.schema)
        else:
            scales = CSV_SCALES.get(name, {})
            csv_schema = _to_csv_table(self.schema.empty_table(), scales).schema
            # Unquoted, like the acceptance files and what spreadsheets write: the demo's
            # values never hold a comma, quote or line break ("none" raises if one did).
            # Arrow quotes header names whatever the style, so the header is written here.
            self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
            self._file.write((",".join(self.schema.names) + "\n").encode("utf-8"))
            options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
            self._csv = pa_csv.CSVWriter(self._file, csv_schema, write_options=options)

    def write(self, table: pa.Table) -> None:
        """Queue rows (in the catalogue's column order) and flush every complete slice."""
        if table.schema != self.schema:
            raise TypeError(f"{self.name}: got schema {table.schema}, expected {self.schema}")
        if table.num_rows == 0:
            return
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= self._chunk_rows:
            self._flush(final=False)

    def close(self) -> int:
        """Write what is left, close the file under its final name and return the row count."""
        self._flush(final=True)
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        if self._file is not None:
            self._file.close()
        os.replace(self._tmp, self.path)
        return self.rows

    def abort(self) -> None:
        """Close and remove the partial file after a failure."""
        for writer in (self._parquet, self._csv, self._file):
            if writer is not None:
                # The original error is the one worth reporting, not a failed close.
                with contextlib.suppress(Exception):
                    writer.close()
        self._tmp.unlink(missing_ok=True)

    def _flush(self, *, final: bool) -> None:
        if not self._pending:
            return
        buffered = pa.concat_tables(self._pending)
        n = self._chunk_rows
        full = (buffered.num_rows // n) * n
        upto = buffered.num_rows if final else full
        for start in range(0, upto, n):
            self._emit(buffered.slice(start, min(n, upto - start)))
        rest = buffered.slice(upto)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def _emit(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self._parquet is not None:
            self._parquet.write_table(table, row_group_size=self._chunk_rows)
        elif self._csv is not None:
            self._csv.write_table(_to_csv_table(table, CSV_SCALES.get(self.name, {})))
