"""Read the CDNOW transaction files (Fader & Hardie) as canonical orders.

The classic data set behind the BG/NBD and Gamma-Gamma papers comes as whitespace-separated
text with no quoting and, for the sample, no header:

- ``CDNOW_master.txt``: ``customer_id date(YYYYMMDD) number_of_cds dollar_value``, after an
  optional header line;
- ``CDNOW_sample.txt``: ``customer_id sample_id date number_of_cds dollar_value``.

Columns are told apart by their count (4 or 5) on the first data line. Each line becomes one
order: ``order_id`` is ``<customer_id>-<line>``, ``quantity`` the number of CDs, ``amount`` the
dollar value; customer ids keep their leading zeros, as written. Every bad line is reported
(file, line, column, value), as the canonical readers do.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from fenji.io.errors import MAX_ISSUES_PER_PROBLEM, DataError, DataIssue, IssueCode, Reason
from fenji.policy.sources import DECIMAL_PRECISION, DECIMAL_SCALE, ORDERS

_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC_LINE = re.compile(r"^\s*\d+(\s+[-+]?\d+(\.\d*)?){3,4}\s*$")
_LAYOUTS = {
    4: ("customer_id", "order_date", "quantity", "amount"),
    5: ("customer_id", "sample_id", "order_date", "quantity", "amount"),
}
MONEY = pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)


def looks_like_cdnow(path: Path) -> bool:
    """Whether ``path`` is a CDNOW-style text file: its first data line (after an optional
    header) is 4 or 5 whitespace-separated numbers with an 8-digit date in the right place."""
    if path.suffix.lower() not in (".txt", ".dat", ""):
        return False
    try:
        with path.open("r", encoding="ascii", errors="strict") as fh:
            for i, line in enumerate(fh):
                if not line.strip():
                    continue
                if _NUMERIC_LINE.match(line):
                    fields = line.split()
                    layout = _LAYOUTS[len(fields)]
                    return bool(_DATE.match(fields[layout.index("order_date")]))
                if i > 0:
                    return False  # a header is only allowed on the first line
    except (OSError, UnicodeDecodeError):
        return False
    return False


def read_cdnow(path: str | Path) -> pa.Table:
    """The orders of a CDNOW file as a canonical orders table (columns of
    :data:`fenji.policy.sources.ORDERS`). Raises :class:`DataError` listing every bad line.

    Lines are split in Python (the format has runs of spaces, which CSV readers do not take as
    one separator) and the columns converted by Arrow; only when a conversion fails are the
    values checked one by one, to say which lines are wrong."""
    file = Path(path)
    name = str(file)
    fields: dict[str, list[str]] = {}
    lines: list[int] = []
    issues: list[DataIssue] = []
    layout: tuple[str, ...] | None = None
    with file.open("r", encoding="ascii", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            if layout is None:
                if number == 1 and not parts[0].isdigit():
                    continue  # the master file's header line
                layout = _LAYOUTS.get(len(parts))
                if layout is None:
                    raise DataError(
                        [
                            _bad_row(
                                name,
                                number,
                                line,
                                f"{len(parts)} fields; a CDNOW line has 4 (master) or 5 (sample)",
                            )
                        ]
                    )
                fields = {c: [] for c in layout}
            if len(parts) != len(layout):
                issues.append(
                    _bad_row(
                        name,
                        number,
                        line,
                        f"{len(parts)} fields where the first line has {len(layout)}",
                    )
                )
                if len(issues) > MAX_ISSUES_PER_PROBLEM:
                    break
                continue
            for column, value in zip(layout, parts, strict=True):
                fields[column].append(value)
            lines.append(number)
    if issues:
        raise DataError(issues)
    if layout is None:
        raise DataError([_bad_row(name, 1, "", "the file has no orders")])
    days = _convert(name, lines, "order_date", fields["order_date"], issues)
    amounts = _convert(name, lines, "amount", fields["amount"], issues)
    quantities = _convert(name, lines, "quantity", fields["quantity"], issues)
    if issues:
        raise DataError(issues)
    n = len(lines)
    ids = pa.array(fields["customer_id"], pa.string())
    numbers = pa.array([str(i) for i in lines], pa.string())
    columns = {
        "order_id": pc.binary_join_element_wise(ids, numbers, "-"),
        "customer_id": ids,
        "business_line": pa.nulls(n, pa.string()),
        "order_date": days,
        "amount": amounts,
        "quantity": quantities,
        "channel": pa.nulls(n, pa.string()),
        "status": pa.nulls(n, pa.string()),
    }
    assert tuple(columns) == ORDERS.column_names
    return pa.table(columns)


def _bad_row(file: str, line: int, text: str, what: str) -> DataIssue:
    return DataIssue.of(
        "io.bad_row",
        Reason(what, what, "use CDNOW_master.txt or CDNOW_sample.txt as distributed"),
        file=file,
        row=line,
        value=text.strip(),
    )


def _convert(
    file: str, lines: list[int], column: str, values: list[str], issues: list[DataIssue]
) -> pa.Array:
    """One column converted by Arrow; on failure, an issue for each value that does not
    convert (and an empty array, as the caller raises)."""
    raw = pa.array(values, pa.string())
    if column == "order_date":
        ok = pc.all(pc.match_substring_regex(raw, _DATE.pattern)).as_py()
        parsed = pc.strptime(raw, format="%Y%m%d", unit="s", error_is_null=True)
        if ok and parsed.null_count == 0:
            return parsed.cast(pa.date32())
        bad = [
            i
            for i, (v, p) in enumerate(zip(values, parsed.to_pylist(), strict=True))
            if p is None or not _DATE.match(v)
        ]
        what, hint = "not a date written YYYYMMDD", "write dates as 19970101"
        code: IssueCode = "io.bad_date"
    else:
        try:
            return raw.cast(MONEY)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        bad = []
        for i, v in enumerate(values):
            try:
                pa.array([v], pa.string()).cast(MONEY)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                bad.append(i)
        what, hint, code = "not a number", "write plain numbers such as 29.33", "io.bad_number"
    for i in bad[:MAX_ISSUES_PER_PROBLEM]:
        issues.append(
            DataIssue.of(
                code,
                Reason(what, what, hint, hint),
                file=file,
                row=lines[i],
                column=column,
                value=values[i],
            )
        )
    return pa.array([], pa.null())


__all__ = ["looks_like_cdnow", "read_cdnow"]
