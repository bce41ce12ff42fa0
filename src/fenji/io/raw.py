"""A file as read, before any column is interpreted: headers, cells, and where each row was.

Each file format (CSV, XLSX, Parquet) produces a :class:`RawTable`; one coercion step
(:mod:`fenji.io.coerce`) then turns it into a canonical table, so that every format gets the
same header rules, value parsers, checks and messages.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from fenji.io.errors import DataIssue


@dataclass(frozen=True)
class RowNumbers:
    """Maps the index of a row in a raw table to its row number as a spreadsheet shows it.

    By default the first data row is row 2, under a one-row header. ``skipped`` lists rows of
    the file that are not in the table (malformed CSV rows) so that later rows keep their true
    numbers; ``explicit`` gives every row's number when rows are not contiguous (XLSX sheets).
    """

    first: int = 2
    skipped: Sequence[int] = ()
    explicit: Sequence[int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skipped", tuple(sorted(self.skipped)))

    def __call__(self, index: int) -> int:
        if self.explicit is not None:
            return self.explicit[index]
        # Each skipped row at or before the candidate pushes it one further down.
        before = 0
        while True:
            row = index + self.first + before
            now = bisect.bisect_right(self.skipped, row)
            if now == before:
                return row
            before = now


@dataclass
class RawTable:
    """The cells of one file under their headers as written.

    Columns from CSV and XLSX are text; Parquet columns keep their own types. ``issues`` are the
    problems found while reading (encoding, malformed rows); ``readable`` is false when the file
    could not be read at all, and then there are no headers and no columns.
    """

    file: str
    headers: list[str]
    columns: list[pa.ChunkedArray]
    rows: RowNumbers = field(default_factory=RowNumbers)
    issues: list[DataIssue] = field(default_factory=list)
    readable: bool = True

    @property
    def num_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @classmethod
    def failed(cls, file: str, issue: DataIssue) -> RawTable:
        return cls(file=file, headers=[], columns=[], issues=[issue], readable=False)
