"""Columns that arrive already typed (Parquet) to canonical types.

A Parquet file written by pandas, Spark or an ERP carries its own types, which are often close
to but not exactly the canonical ones: ``float64`` money, ``int64`` customer ids, timestamps for
dates, ``decimal128(38, 10)``. Text columns go through the same parsers as CSV cells; other
types are converted here. Floats are the one place where rounding (to four decimals) is
accepted: a float has no exact decimal value to keep, and the nearest four-decimal value is the
one its writer meant. Decimals with more than four places, by contrast, are exact values and are
rejected unless the extra places are zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from fenji.io.values import (
    ARROW_TYPES,
    DECIMAL_TYPE,
    Parsed,
    canonical_number,
    parse_text,
)
from fenji.policy.sources import DECIMAL_PRECISION, DECIMAL_SCALE, ColumnType

_LIMIT: Final = 10 ** (DECIMAL_PRECISION - DECIMAL_SCALE)  # first value too large for DECIMAL_TYPE
_WIDE_DECIMAL: Final = pa.decimal128(38, DECIMAL_SCALE)


def is_text(type_: pa.DataType) -> bool:
    """Whether cells of ``type_`` are text to be parsed like a CSV cell."""
    if pa.types.is_dictionary(type_):
        return is_text(type_.value_type)
    return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_))


def _nan_as_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """NaN is how pandas and numpy write a missing number, so it is a blank cell here."""
    if not pa.types.is_floating(column.type):
        return column
    return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)


def as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The cells as text, to show them in an issue or keep them as an extra column."""
    if pa.types.is_floating(column.type):
        column = _nan_as_null(column)
        integral = pc.fill_null(pc.equal(pc.floor(column), column), False)
        if _all(pc.or_(integral, pc.is_null(column))) and _all(
            pc.less(pc.abs(pc.fill_null(column, 0)), 2.0**53)
        ):
            column = pc.cast(column, pa.int64())
    return pc.cast(column, pa.string())


def parse_typed(column: pa.ChunkedArray, kind: ColumnType) -> Parsed | None:
    """Convert a typed column to ``kind``; None when no conversion makes sense (a list column)."""
    type_ = column.type
    if is_text(type_):
        return parse_text(pc.cast(column, pa.string()), kind)
    column = _nan_as_null(column)
    if type_ == ARROW_TYPES[kind] and kind != "month":
        return Parsed(column, pc.is_null(pc.is_valid(column)))
    if kind == "string":
        return _convertible(column, _to_string)
    if kind == "decimal":
        return _to_decimal(column)
    if kind == "integer":
        return _to_integer(column)
    if kind in ("date", "month"):
        return _to_date(column, month=kind == "month")
    return _to_boolean(column)


def _all(mask: pa.ChunkedArray) -> bool:
    return bool(pc.all(mask, skip_nulls=True, min_count=0).as_py())


def _result(
    column: pa.ChunkedArray, values: pa.ChunkedArray, detail: pa.ChunkedArray | None
) -> Parsed:
    return Parsed(values, pc.and_(pc.is_valid(column), pc.is_null(values)), detail)


def _convertible(
    column: pa.ChunkedArray, convert: Callable[[pa.ChunkedArray], pa.ChunkedArray]
) -> Parsed | None:
    try:
        values = convert(column)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return None
    return _result(column, values, None)


def _to_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_boolean(column.type) or pa.types.is_temporal(column.type):
        return pc.cast(column, pa.string())
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return as_text(column)
    if pa.types.is_decimal(column.type):
        return canonical_number(pc.cast(column, pa.string()))
    raise pa.ArrowNotImplementedError(f"no text form for {column.type}")


def _to_decimal(column: pa.ChunkedArray) -> Parsed | None:
    type_ = column.type
    if pa.types.is_integer(type_):
        fits = pc.less(pc.abs(pc.cast(column, pa.float64())), _LIMIT)
        kept = pc.if_else(fits, column, pa.scalar(None, type_))
        # Arrow sizes the cast by the type (19 digits for int64), so widen, then narrow.
        values = pc.cast(pc.cast(kept, _WIDE_DECIMAL), DECIMAL_TYPE)
        return _result(column, values, pc.cast(column, pa.string()))
    if pa.types.is_floating(type_):
        fits = pc.and_(pc.is_finite(column), pc.less(pc.abs(column), _LIMIT))
        kept = pc.if_else(fits, pc.round(column, DECIMAL_SCALE), pa.scalar(None, type_))
        values = pc.cast(kept, DECIMAL_TYPE, safe=False)
        shown = pc.if_else(
            pc.and_(pc.is_finite(column), pc.less(pc.abs(column), 1e30)),
            column,
            pa.scalar(None, type_),
        )
        detail = canonical_number(pc.cast(pc.cast(shown, _WIDE_DECIMAL, safe=False), pa.string()))
        return _result(column, values, detail)
    if pa.types.is_decimal(type_):
        return parse_text(pc.cast(column, pa.string()), "decimal")
    return None


def _to_integer(column: pa.ChunkedArray) -> Parsed | None:
    type_ = column.type
    if pa.types.is_integer(type_) or pa.types.is_floating(type_):
        return parse_text(as_text(column), "integer")
    if pa.types.is_decimal(type_):
        return parse_text(pc.cast(column, pa.string()), "integer")
    return None


def _to_date(column: pa.ChunkedArray, *, month: bool) -> Parsed | None:
    type_ = column.type
    if pa.types.is_date(type_) or pa.types.is_timestamp(type_):
        dates = pc.cast(column, pa.date32(), safe=False)
        if month:
            dates = pc.floor_temporal(dates, unit="month")
        return _result(column, dates, None)
    return None


def _to_boolean(column: pa.ChunkedArray) -> Parsed | None:
    if pa.types.is_integer(column.type):
        return parse_text(pc.cast(column, pa.string()), "boolean")
    return None
