"""Reading an import file: fenji's readers, a mapping file, and which rows are bad.

Parsing is :mod:`fenji.io`'s (encodings, Chinese headers, ``1.5万``, ``2024年3月5日``, ...);
this module adds what an import needs on top: the header mapping from a YAML or JSON file, the
``错误/error`` column of a corrected error file left out (so that the file re-imports as it
is), and the bookkeeping between a table row, the file's own row and its spreadsheet row
number, which the error file of rejected rows is built from.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from fenji.io.coerce import Coerced, coerce
from fenji.io.errors import DataIssue
from fenji.io.headers import header_key
from fenji.io.raw import RawTable, RowNumbers
from fenji.io.readers import read_raw
from fenji.policy.sources import Source

#: The column an error file adds to the rejected rows; ignored when the file is imported again.
ERROR_COLUMN: Final = "错误/error"
_ERROR_KEYS: Final = frozenset({header_key(ERROR_COLUMN), header_key("错误"), "error"})


class ImportSetupError(ValueError):
    """The import cannot start: an unknown kind, a missing folder, a mapping file that is not
    a ``{file header: column}`` mapping. Unlike bad data, this is the caller's mistake."""


def load_mapping(
    path: str | Path, source: Source, *, extra_allowed: bool, shared: bool = False
) -> dict[str, str]:
    """The ``{file header: column}`` mapping in a YAML or JSON file.

    The file may also hold one such mapping per kind (``{orders: {...}, customers: {...}}``);
    the one for ``source`` is then used. Columns must be the source's own, unless
    ``extra_allowed`` (customers, whose other columns are custom attributes). A single mapping
    ``shared`` by the files of a folder keeps, for each, only the columns of its kind.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ImportSetupError(f"mapping file {file}: {err.strerror or err}") from err
    try:
        data: Any = json.loads(text) if file.suffix.casefold() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ImportSetupError(f"mapping file {file} cannot be parsed: {err}") from err
    if isinstance(data, dict) and isinstance(data.get(source.name), dict):
        data, shared = data[source.name], False
    if not isinstance(data, dict) or not all(
        isinstance(k, str | int) and isinstance(v, str) for k, v in data.items()
    ):
        raise ImportSetupError(
            f"mapping file {file} must map file headers to column names, e.g. "
            f"'客户代码: customer_id', one per line"
        )
    mapping = {str(k): v for k, v in data.items()}
    known = set(source.column_names)
    if shared and not extra_allowed:
        return {k: v for k, v in mapping.items() if v in known}
    unknown = sorted(v for v in mapping.values() if v not in known)
    if unknown and not extra_allowed:
        raise ImportSetupError(
            f"mapping file {file}: {', '.join(map(repr, unknown))} "
            f"{'is not a column' if len(unknown) == 1 else 'are not columns'} of {source.name}; "
            f"the columns are {', '.join(source.column_names)}"
        )
    return mapping


def read_raw_for_import(
    path: Path, source: Source, *, sheet: str | int | None, headers: Mapping[str, str] | None
) -> RawTable:
    """The file's cells as written, without the error column of an earlier error file."""
    raw = read_raw(path, source, sheet=sheet, headers=headers)
    keep = [i for i, h in enumerate(raw.headers) if header_key(h) not in _ERROR_KEYS]
    if len(keep) == len(raw.headers):
        return raw
    return RawTable(
        file=raw.file,
        headers=[raw.headers[i] for i in keep],
        columns=[raw.columns[i] for i in keep],
        rows=raw.rows,
        issues=raw.issues,
        readable=raw.readable,
    )


def read_for_import(
    path: Path, source: Source, *, sheet: str | int | None, headers: Mapping[str, str] | None
) -> Coerced:
    """The canonical table of the file with every issue; the raw cells are not kept (an
    error file reads them again) so that a large import holds one copy of the data."""
    raw = read_raw_for_import(path, source, sheet=sheet, headers=headers)
    return coerce(raw, source, headers)


#: Issues about the whole file or a whole column (no row to hand back): the file cannot be
#: imported at all until they are fixed.
def file_level(issues: Iterable[DataIssue]) -> list[DataIssue]:
    return [i for i in issues if i.row is None and i.code != "io.more_issues"]


@dataclass(frozen=True)
class Rows:
    """Where each row of a canonical table came from.

    Three numberings meet here: the *table index* (a row of the canonical table; wholly blank
    rows are gone), the *raw index* (a row of the file as read; malformed CSV lines are gone)
    and the *row number* a spreadsheet shows (header = 1), which issues use.
    """

    numbers: RowNumbers
    positions: pa.Array | None

    @classmethod
    def of(cls, coerced: Coerced) -> Rows:
        return cls(coerced.rows, coerced.positions)

    def raw_indices(self, table_indices: pa.Array) -> pa.Array:
        if self.positions is None:
            return table_indices
        return self.positions.take(table_indices)

    def table_raw_indices(self, num_rows: int) -> pa.Array:
        """The raw index of every table row."""
        if self.positions is None:
            return pa.array(np.arange(num_rows, dtype=np.int64))
        return pc.cast(self.positions, pa.int64())

    def raw_index(self, row: int) -> int | None:
        """The raw index of spreadsheet row ``row``; None for a line that is not in the table."""
        numbers = self.numbers
        if numbers.explicit is not None:
            index = bisect.bisect_left(numbers.explicit, row)
            found = index < len(numbers.explicit) and numbers.explicit[index] == row
            return index if found else None
        skipped = numbers.skipped
        at = bisect.bisect_left(skipped, row)
        if at < len(skipped) and skipped[at] == row:
            return None
        index = row - numbers.first - at
        return index if index >= 0 else None

    def row(self, raw_index: int) -> int:
        return self.numbers(raw_index)


def flagged_raw_indices(coerced: Coerced, rows: Rows) -> set[int]:
    """Raw indices of the rows the reader found a problem in (bad or missing values, and the
    rows its issues name, such as repeated keys)."""
    found: set[int] = set()
    if coerced.flagged is not None:
        found.update(pc.indices_nonzero(coerced.flagged).to_pylist())
    for issue in coerced.issues:
        if issue.row is not None:
            index = rows.raw_index(issue.row)
            if index is not None:
                found.add(index)
    return found
