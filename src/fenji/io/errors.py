"""Problems found in input files, and the one exception that carries all of them.

Import errors are for people fixing a spreadsheet, so every issue says where (file, row as the
spreadsheet shows it, column), what (the value as written) and how to fix it, in English and
Chinese. Readers collect every issue of a file (and of every file in a data set) before raising,
so that one round of fixes is enough; the codes are stable so that the UI and API can react.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Final, Literal, NamedTuple

IssueCode = Literal[
    "io.bad_date",
    "io.bad_month",
    "io.bad_number",
    "io.bad_integer",
    "io.bad_boolean",
    "io.bad_type",
    "io.bad_row",
    "io.bad_file",
    "io.missing_column",
    "io.duplicate_column",
    "io.missing_value",
    "io.duplicate_key",
    "io.encoding",
    "io.empty_file",
    "io.unknown_customer",
    "io.too_long",
    "io.file_not_found",
    "io.duplicate_file",
    "io.unsupported_format",
    "io.more_issues",
]

#: How many issues ``str(DataError)`` lists before saying how many more there are.
SHOWN_ISSUES: Final = 20

#: Beyond this many rows with the same problem in one column, one ``io.more_issues`` issue
#: counts the rest: a file whose whole column is wrong must still fail fast and readably.
MAX_ISSUES_PER_PROBLEM: Final = 1000

if TYPE_CHECKING:
    import pyarrow as pa

Language = Literal["en", "zh"]


class Reason(NamedTuple):
    """What is wrong and how to fix it, in both languages; the content of an issue's message."""

    message: str
    message_zh: str
    hint: str = ""
    hint_zh: str = ""


@dataclass(frozen=True)
class DataIssue:
    """One problem in an input file.

    ``row`` is the row number as a spreadsheet shows it (the header is row 1, the first data row
    is row 2), or the line number for an encoding problem, or None for a problem with the whole
    file or column. ``value`` is the cell as written (trimmed), so that the user can search for it.
    """

    code: IssueCode
    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    message_zh: str
    hint: str = ""
    hint_zh: str = ""

    @classmethod
    def of(
        cls,
        code: IssueCode,
        reason: Reason,
        *,
        file: str,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> DataIssue:
        return cls(
            code=code,
            file=file,
            row=row,
            column=column,
            value=value,
            message=reason.message,
            message_zh=reason.message_zh,
            hint=reason.hint,
            hint_zh=reason.hint_zh,
        )

    def format(self, language: Language = "en") -> str:
        """One readable line: where, the value, what is wrong and what to do."""
        name = PurePath(self.file).name if self.file else ""
        value = None if self.value is None else _quote(self.value)
        if language == "zh":
            where = [name] if name else []
            if self.row is not None:
                where.append(f"第 {self.row} 行")
            if self.column is not None:
                where.append(f"列 {self.column}")
            if value is not None:
                where.append(f"值 {value}")
            text = f"{'，'.join(where)}：{self.message_zh}" if where else self.message_zh
            return f"{text}；{self.hint_zh}" if self.hint_zh else text
        parts = [name] if name else []
        if self.row is not None:
            parts = [f"{name} row {self.row}" if name else f"row {self.row}"]
        if self.column is not None:
            parts.append(f"column {self.column}")
        if value is not None:
            parts.append(f"value {value}")
        text = f"{', '.join(parts)}: {self.message}" if parts else self.message
        return f"{text}; {self.hint}" if self.hint else text

    def __str__(self) -> str:
        return self.format("en")


def _quote(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)


class DataError(Exception):
    """Input data that fenji cannot use, with every issue found; no partial result exists."""

    def __init__(self, issues: Iterable[DataIssue]) -> None:
        self.issues: list[DataIssue] = list(issues)
        super().__init__(self.format())

    def format(self, language: Language = "en", limit: int = SHOWN_ISSUES) -> str:
        """The issues, one a line, up to ``limit`` of them, then how many more there are."""
        count = len(self.issues)
        if language == "zh":
            head = f"数据有 {count} 个问题："
            more = f"……另有 {count - limit} 个问题未列出"
        else:
            head = f"{count} problem{'s' if count != 1 else ''} in the data:"
            more = f"... and {count - limit} more"
        lines = [head, *(f"  {issue.format(language)}" for issue in self.issues[:limit])]
        if count > limit:
            lines.append(f"  {more}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def to_table(self) -> pa.Table:
        """The issues as a table, to offer as a downloadable file next to the input."""
        return issues_table(self.issues)


def issues_table(issues: Sequence[DataIssue]) -> pa.Table:
    """A table with one row per issue and one column per field of :class:`DataIssue`."""
    import pyarrow as pa

    fields = ("code", "file", "row", "column", "value", "message", "message_zh", "hint", "hint_zh")
    types = {"row": pa.int64()}
    return pa.table(
        {
            name: pa.array([getattr(i, name) for i in issues], type=types.get(name, pa.string()))
            for name in fields
        }
    )
