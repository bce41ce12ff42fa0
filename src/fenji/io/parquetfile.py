"""Parquet files to a :class:`RawTable` whose columns keep their Parquet types.

Conversion to canonical types happens in :mod:`fenji.io.typed`, called by the coercion step,
so that a Parquet column of text is parsed exactly like a CSV column.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fenji.io.errors import DataIssue, Reason
from fenji.io.raw import RawTable


def read_parquet_raw(path: Path, *, file: str) -> RawTable:
    """Read every column of ``path``; a damaged file is an ``io.bad_file`` issue."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        return RawTable.failed(
            file,
            DataIssue.of(
                "io.bad_file",
                Reason(
                    f"the file cannot be read as Parquet ({exc})",
                    f"无法按 Parquet 读取该文件（{exc}）",
                    "write the file again, or send it as CSV",
                    "请重新导出该文件，或改用 CSV",
                ),
                file=file,
            ),
        )
    return RawTable(file=file, headers=list(table.column_names), columns=list(table.columns))
