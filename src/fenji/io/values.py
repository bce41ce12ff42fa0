"""Text cells to canonical values, a whole column at a time.

Files of ten million rows must load in seconds, so nothing here loops over rows in Python:
each parser first tries a fast path (plain ISO dates, plain decimals) that Arrow casts directly,
and only when a column holds other forms runs the full normalisation with vectorised regular
expressions. The forms accepted are those Chinese ERPs and Excel write:

- numbers: ``1234.56``, ``1,234.56``, ``￥1,234``, ``1.5万``, ``1.2亿``, ``１２３４．５``,
  ``(1,234.00)`` (accounting negative), ``1234元``;
- dates: ``2024-03-05``, ``2024/3/5``, ``2024.3.5``, ``2024年3月5日``, ``20240305``, with an
  optional time of day that is dropped;
- months: ``2024-03``, ``2024/3``, ``2024年3月``, ``202403``, or any date (its month);
- booleans: true/false, 1/0, yes/no, y/n, 是/否, 真/假, any case.

Decimals are exact and never rounded: a value with more than four decimal places is an error
(trailing zeros do not count). Every parser returns, besides the values, a ``detail`` column that
:func:`explain` uses to say precisely why a cell was rejected; only bad cells are ever looked at
one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from fenji.io.errors import IssueCode, Reason
from fenji.policy.sources import DECIMAL_PRECISION, DECIMAL_SCALE, ColumnType

DECIMAL_TYPE: Final = pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)
_INTEGER_DIGITS: Final = DECIMAL_PRECISION - DECIMAL_SCALE

#: The Arrow type of each column type of the catalogue.
ARROW_TYPES: Final[dict[ColumnType, pa.DataType]] = {
    "string": pa.string(),
    "date": pa.date32(),
    "month": pa.date32(),
    "decimal": DECIMAL_TYPE,
    "integer": pa.int64(),
    "boolean": pa.bool_(),
}

_NULL_TEXT: Final = pa.scalar(None, pa.string())
_EMPTY_TEXT: Final = pa.scalar("", pa.string())
_PLAIN_DECIMAL: Final = rf"^-?\d{{1,{_INTEGER_DIGITS}}}(?:\.\d{{1,{DECIMAL_SCALE}}})?$"
_PLAIN_INTEGER: Final = r"^-?\d{1,18}$"
# Patterns are "one-pass" for RE2 (no choice depends on what comes later), which makes
# extraction twice as fast; grouping commas and date separators are dealt with beforehand.
_GROUPED: Final = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:万|亿)?$"
_NUMBER_SHAPE: Final = r"^(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?(?P<unit>万|亿)?$"
_UNIT_SHIFT: Final = {"万": 4, "亿": 8}
_TIME_OF_DAY: Final = r"^(.*?)(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$"
_DATE_SHAPE: Final = r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"
_MONTH_SHAPE: Final = r"^(?P<y>\d{4})-(?P<m>\d{1,2})$"
_SEPARATORS: Final = {"年": "-", "月": "-", "日": "", "号": "", "/": "-", ".": "-"}
_TRUE: Final = pa.array(["true", "t", "1", "yes", "y", "是", "真"])
_FALSE: Final = pa.array(["false", "f", "0", "no", "n", "否", "假"])


@dataclass(frozen=True)
class Parsed:
    """A parsed column: values of the canonical type, and what was rejected.

    ``values`` is null for blank and for bad cells; ``bad`` is true exactly for the non-blank
    cells that could not be parsed. ``detail`` is a normalised text per cell that
    :func:`explain` uses to tell the reasons apart (null when the cell did not even look like a
    value of the type); it is None when there is nothing to explain.
    """

    values: pa.ChunkedArray
    bad: pa.ChunkedArray
    detail: pa.ChunkedArray | None = None


def clean_text(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells with surrounding white space (also full-width and no-break) removed; blank → null."""
    trimmed = pc.utf8_trim_whitespace(texts)
    blank = pc.equal(trimmed, _EMPTY_TEXT)
    if not pc.any(blank).as_py():
        return trimmed
    return pc.if_else(blank, _NULL_TEXT, trimmed)


def parse_text(texts: pa.ChunkedArray, kind: ColumnType) -> Parsed:
    """Parse text cells as written in the file (untrimmed, blank as empty text) as ``kind``.

    Most columns of most files hold only the plain form that Arrow casts itself, so that cast is
    tried on the raw text first; it fails on anything else, blanks included, so it is tried
    again once blanks are nulls; then the cells go through the full parser.
    """
    if kind == "string":
        texts = clean_text(texts)
        return Parsed(texts, _none_bad(texts))
    fast = _plain_cast(texts, kind)
    if fast is None:
        cleaned = clean_text(texts)
        if cleaned.null_count > texts.null_count:
            fast = _plain_cast(cleaned, kind)
        texts = cleaned
    if fast is not None:
        return Parsed(fast, _none_bad(fast))
    if kind == "decimal":
        return _parse_number(texts, _PLAIN_DECIMAL, DECIMAL_TYPE)
    if kind == "integer":
        return _parse_number(texts, _PLAIN_INTEGER, pa.int64())
    if kind == "date":
        return parse_dates(texts)
    if kind == "month":
        return _parse_months(texts)
    return _parse_booleans(texts)


def _plain_cast(texts: pa.ChunkedArray, kind: ColumnType) -> pa.ChunkedArray | None:
    """The column cast by Arrow when every cell is in the plain form, else None.

    Arrow's casts accept exactly ISO dates, and decimals and integers without grouping; they
    also accept exponents (``1.2E+11``), which are refused here because Excel writes them for
    numbers it has already rounded for display.
    """
    if kind == "decimal" and _has_exponent(texts):
        return None
    try:
        if kind == "decimal":
            return pc.cast(texts, DECIMAL_TYPE)
        if kind == "integer":
            return pc.cast(texts, pa.int64())
        if kind == "date":
            return pc.cast(texts, pa.date32())
        if kind == "month":
            return pc.cast(_join(texts, "01", sep="-"), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return None


def _has_exponent(texts: pa.ChunkedArray) -> bool:
    """Whether any cell may contain ``e`` or ``E`` (see :class:`_Characters`)."""
    return _Characters(texts).has(b"e", b"E")


class _Characters:
    """All the bytes of a text column, to skip the normalisation steps it does not need.

    Each regular-expression pass over ten million cells costs about a second, and most files use
    only one or two of the accepted forms: a column without ``(`` needs no accounting negatives,
    an ASCII column no full-width folding. The scan is of the character buffers, at memory
    speed. A sliced chunk's buffer may hold bytes of cells outside the slice; that can only make
    a step run needlessly, never skip one that is needed.
    """

    _SPACES: Final = (b" ", b"\t", b"\r", b"\n", b"\x0b", b"\x0c")

    def __init__(self, texts: pa.ChunkedArray) -> None:
        buffers = (chunk.buffers()[2] for chunk in texts.chunks)
        self.data = b"".join(buffer.to_pybytes() for buffer in buffers if buffer is not None)
        self.ascii = self.data.isascii()

    def has(self, *needles: bytes) -> bool:
        return any(needle in self.data for needle in needles)

    def may_hold(self, *needles: bytes) -> bool:
        """Whether the cells may hold one of ``needles`` once folded to ASCII.

        Folding (NFKC) turns full-width forms, U+3000 and no-break spaces into ASCII ones, so a
        column with any non-ASCII byte may hold anything.
        """
        return not self.ascii or self.has(*needles)

    @property
    def spaces(self) -> bool:
        return self.may_hold(*self._SPACES)


def _none_bad(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.is_null(pc.is_valid(texts))  # all false, same length and chunking


def _all(mask: pa.ChunkedArray) -> bool:
    return bool(pc.all(mask, skip_nulls=True, min_count=0).as_py())


def _bad(texts: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.and_(pc.is_valid(texts), pc.is_null(values))


def _field(parts: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    return pc.struct_field(parts, name)


def _join(*parts: pa.ChunkedArray | str, sep: str = "") -> pa.ChunkedArray:
    return pc.binary_join_element_wise(*parts, sep)


def _length(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.binary_length(texts)


def canonical_number(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """Numbers written in any accepted form, rewritten as ``-123.45`` (null if not a number).

    The result has no grouping, no leading zeros and no trailing decimal zeros, so that the
    digit counts before and after the point are the real ones; ``万``/``亿`` are applied by
    moving the decimal point, which keeps the value exact.
    """
    chars = _Characters(texts)
    text = texts
    if not chars.ascii:
        text = pc.utf8_normalize(text, form="NFKC")  # full-width digits, ￥ and ，to ASCII
        text = pc.replace_substring(text, "\u2212", "-")  # the typographic minus sign
        text = pc.replace_substring_regex(text, r"元$", "")
    if chars.spaces:
        text = pc.replace_substring_regex(text, r"\s+", "")
    if chars.may_hold(b"("):
        text = pc.replace_substring_regex(text, r"^\((.*)\)$", r"-\1")
    if chars.may_hold(b"$", b"R", b"r", b"C", b"c"):
        text = pc.replace_substring_regex(text, r"^([+-]?)(?:¥|\$|(?i:rmb|cny))", r"\1")
    if chars.may_hold(b","):
        # Commas must group by thousands: "1,23" may be a decimal comma, never a silent 123.
        misplaced = pc.invert(pc.match_substring_regex(text, _GROUPED))
        misplaced = pc.and_(pc.match_substring(text, ","), misplaced)
        text = pc.if_else(misplaced, _NULL_TEXT, pc.replace_substring(text, ",", ""))
    parts = pc.extract_regex(text, _NUMBER_SHAPE)
    whole = _field(parts, "int")
    fraction = _field(parts, "frac")
    has_digit = pc.greater(pc.add(_length(whole), _length(fraction)), 0)
    unit = _field(parts, "unit")
    if pc.any(pc.greater(_length(unit), 0)).as_py():
        for name, shift in _UNIT_SHIFT.items():
            scaled = pc.equal(unit, name)
            padded = pc.utf8_rpad(fraction, width=shift, padding="0")
            moved = _join(whole, pc.utf8_slice_codeunits(padded, 0, shift))
            whole = pc.if_else(scaled, moved, whole)
            fraction = pc.if_else(scaled, pc.utf8_slice_codeunits(padded, shift), fraction)
    whole = pc.utf8_ltrim(whole, characters="0")
    whole = pc.if_else(pc.equal(_length(whole), 0), "0", whole)
    fraction = pc.utf8_rtrim(fraction, characters="0")
    sign = pc.if_else(pc.equal(_field(parts, "sign"), "-"), "-", "")
    dot = pc.if_else(pc.greater(_length(fraction), 0), ".", "")
    return pc.if_else(has_digit, _join(sign, whole, dot, fraction), _NULL_TEXT)


def _parse_number(texts: pa.ChunkedArray, plain: str, target: pa.DataType) -> Parsed:
    canonical = canonical_number(texts)
    fits = pc.fill_null(pc.match_substring_regex(canonical, plain), False)
    values = pc.cast(pc.if_else(fits, canonical, _NULL_TEXT), target)
    return Parsed(values, _bad(texts, values), canonical)


def _iso(
    year: pa.ChunkedArray, month: pa.ChunkedArray, day: pa.ChunkedArray | str
) -> pa.ChunkedArray:
    if not isinstance(day, str):
        day = pc.utf8_lpad(day, width=2, padding="0")
    return _join(year, pc.utf8_lpad(month, width=2, padding="0"), day, sep="-")


def _checked_date(
    text: pa.ChunkedArray,
    shaped: pa.ChunkedArray,
    month: pa.ChunkedArray,
    day: pa.ChunkedArray | pa.Scalar,
) -> pa.ChunkedArray:
    """``Y-M-D`` texts (``shaped`` where they are) to dates; null where the day does not exist."""
    stamps = pc.strptime(
        pc.if_else(shaped, text, _NULL_TEXT), format="%Y-%m-%d", unit="s", error_is_null=True
    )
    dates = pc.cast(stamps, pa.date32())
    # strptime rolls 2024-02-30 over to 2024-03-01; comparing month and day catches that.
    exists = pc.and_(
        pc.equal(pc.month(dates), pc.cast(month, pa.int64())),
        pc.equal(pc.day(dates), pc.cast(day, pa.int64())),
    )
    return pc.if_else(exists, dates, pa.scalar(None, pa.date32()))


def _dashed(texts: pa.ChunkedArray, compact: str, compact_to: str) -> pa.ChunkedArray:
    """Dates and months folded to ASCII ``Y-M-D``/``Y-M``, without time of day or spaces.

    ``2024年3月5日``, ``2024/3/5``, ``2024.3.5`` and ``2024-03-05 08:00`` all become
    ``2024-3-5``-like text; ``compact`` (``20240305``) is rewritten by ``compact_to``.
    """
    chars = _Characters(texts)
    text = texts
    if not chars.ascii:
        text = pc.utf8_normalize(text, form="NFKC")
    if chars.may_hold(b":"):
        text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _TIME_OF_DAY, r"\1"))
    if chars.spaces:
        text = pc.replace_substring_regex(text, r"\s+", "")
    for separator, dash in _SEPARATORS.items():
        if chars.may_hold(separator.encode()):
            text = pc.replace_substring(text, separator, dash)
    if not _all(pc.match_substring(text, "-")):
        text = pc.replace_substring_regex(text, compact, compact_to)
    return pc.utf8_rtrim(text, characters="-")


def parse_dates(texts: pa.ChunkedArray) -> Parsed:
    """Cleaned cells as dates; ``detail`` is the ISO text when the form was recognised."""
    text = _dashed(texts, r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3")
    parts = pc.extract_regex(text, _DATE_SHAPE)
    month, day = _field(parts, "m"), _field(parts, "d")
    values = _checked_date(text, pc.is_valid(parts), month, day)
    bad = _bad(texts, values)
    detail = _iso(_field(parts, "y"), month, day) if pc.any(bad).as_py() else None
    return Parsed(values, bad, detail)


def _parse_months(texts: pa.ChunkedArray) -> Parsed:
    text = _dashed(texts, r"^(\d{4})(\d{2})$", r"\1-\2")
    parts = pc.extract_regex(text, _MONTH_SHAPE)
    shaped = pc.is_valid(parts)
    first = pa.scalar("01", pa.string())
    months = _checked_date(_join(text, "01", sep="-"), shaped, _field(parts, "m"), first)
    # Cells that are not a month may be a date: the month it falls in.
    dates = parse_dates(pc.if_else(shaped, _NULL_TEXT, texts))
    values = pc.coalesce(months, pc.floor_temporal(dates.values, unit="month"))
    bad = _bad(texts, values)
    detail = None
    if pc.any(bad).as_py():
        detail = _iso(_field(parts, "y"), _field(parts, "m"), "01")
        if dates.detail is not None:
            detail = pc.coalesce(detail, dates.detail)
    return Parsed(values, bad, detail)


def _parse_booleans(texts: pa.ChunkedArray) -> Parsed:
    words = pc.utf8_lower(pc.utf8_normalize(texts, form="NFKC"))
    yes = pc.is_in(words, value_set=_TRUE)
    no = pc.is_in(words, value_set=_FALSE)
    values = pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
    return Parsed(values, _bad(texts, values))


_NUMBER_HINT = Reason(
    "",
    "",
    "write it as 1234.56, 1,234.56 or 1.2万",
    "请写成 1234.56、1,234.56 或 1.2万 这样的数字",
)
_DATE_HINT = Reason(
    "",
    "",
    "write it as 2024-03-05, 2024/3/5 or 2024年3月5日",
    "请写成 2024-03-05、2024/3/5 或 2024年3月5日",
)
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
_DAY_FIRST = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$")


def explain(kind: ColumnType, value: str, detail: str | None) -> tuple[IssueCode, Reason]:
    """Why ``value`` is not a valid ``kind``, with ``detail`` from the parser for that cell."""
    if kind in ("decimal", "integer"):
        return _explain_number(kind, detail)
    if kind == "boolean":
        return "io.bad_boolean", Reason(
            "not a yes/no value",
            "不是“是/否”值",
            "write true or false (also 1/0, yes/no, 是/否)",
            "请写 true 或 false（也可写 1/0、yes/no、是/否）",
        )
    if kind == "month":
        if detail is None:
            return "io.bad_month", Reason(
                "not a month",
                "不是月份",
                "write it as 2024-03, 2024/3 or 2024年3月",
                "请写成 2024-03、2024/3 或 2024年3月",
            )
        return "io.bad_month", Reason(
            f"there is no such month or date ({detail})",
            f"不存在这个月份或日期（{detail}）",
            "check the month (1-12) and the day",
            "请检查月份（1-12）和日期",
        )
    return _explain_date(value, detail)


def _explain_number(kind: ColumnType, detail: str | None) -> tuple[IssueCode, Reason]:
    code: IssueCode = "io.bad_number" if kind == "decimal" else "io.bad_integer"
    if detail is None:
        return code, _NUMBER_HINT._replace(message="not a number", message_zh="不是数字")
    whole, _, fraction = detail.lstrip("-").partition(".")
    if kind == "integer":
        if fraction:
            return code, Reason(
                "not a whole number", "不是整数", "write a whole number", "请填写整数"
            )
        return code, Reason(
            "too large: at most 18 digits",
            "数值太大：最多 18 位数字",
            "check the value",
            "请检查数值",
        )
    if len(fraction) > DECIMAL_SCALE:
        return code, Reason(
            f"has {len(fraction)} decimal places; at most {DECIMAL_SCALE} are kept exactly",
            f"有 {len(fraction)} 位小数；最多只能有 {DECIMAL_SCALE} 位",
            f"round it to {DECIMAL_SCALE} decimal places in the file; fenji never rounds",
            f"请在文件中把它四舍五入到 {DECIMAL_SCALE} 位小数；fenji 不会自动舍入",
        )
    return code, Reason(
        f"too large: at most {_INTEGER_DIGITS} digits before the decimal point ({whole})",
        f"数值太大：整数部分最多 {_INTEGER_DIGITS} 位（{whole}）",
        "check the value and its unit (万/亿)",
        "请检查数值和单位（万/亿）",
    )


def _explain_date(value: str, detail: str | None) -> tuple[IssueCode, Reason]:
    if detail is not None:
        return "io.bad_date", Reason(
            f"there is no such date ({detail})",
            f"不存在这个日期（{detail}）",
            "check the month and the day",
            "请检查月份和日期",
        )
    if _SERIAL.match(value):
        return "io.bad_date", _DATE_HINT._replace(
            message="not a date; it looks like an Excel serial number",
            message_zh="不是日期；看起来是 Excel 的日期序号",
            hint="format the column as a date in Excel before saving, or write 2024-03-05",
            hint_zh="请先在 Excel 中把该列设为日期格式再保存，或写成 2024-03-05",
        )
    if _DAY_FIRST.match(value):
        return "io.bad_date", _DATE_HINT._replace(
            message="not a date in an accepted order: is it day/month or month/day?",
            message_zh="日期顺序无法判断：是 日/月 还是 月/日？",
            hint="write the year first: 2024-03-05",
            hint_zh="请把年份写在前面：2024-03-05",
        )
    return "io.bad_date", _DATE_HINT._replace(message="not a date", message_zh="不是日期")
