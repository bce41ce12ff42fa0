"""Numbers as Chinese business users write them: ``1000000``, ``1,000,000``, ``100万``, ``1.2亿``.

Every figure in a policy is an exact :class:`~decimal.Decimal`: a band bound of ``2.5`` must be
2.5, not the nearest binary fraction, or a customer exactly on the boundary could flip grade.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: Chinese magnitude suffixes understood in numbers.
MAGNITUDES: dict[str, Decimal] = {
    "万": Decimal(10_000),
    "万元": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "亿元": Decimal(100_000_000),
    "千": Decimal(1_000),
    "百万": Decimal(1_000_000),
    "k": Decimal(1_000),
    "K": Decimal(1_000),
    "元": Decimal(1),
    "%": Decimal("0.01"),
}

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋％", "0123456789.,-+%")
_NUMBER = re.compile(
    r"^\s*(?P<sign>[-+]?)\s*[￥¥]?\s*(?P<digits>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
    r"\s*(?P<suffix>百万|万元|亿元|万|亿|千|元|k|K|%)?\s*$"
)


class NumberFormatError(ValueError):
    """A text that is not a number in any of the accepted forms."""


def parse_number(value: object) -> Decimal:
    """Parse an int, a Decimal or a text such as ``1,000,000``, ``100万``, ``1.2亿`` exactly.

    Floats are converted through their shortest repr (``2.5`` -> ``Decimal('2.5')``), which is
    what the author typed; YAML floats never reach here as binary fractions in practice because
    the policy loader reads them as decimals.
    """
    if isinstance(value, bool):
        raise NumberFormatError(f"{value!r} is a boolean, not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise NumberFormatError(f"{value!r} is not a number")
    text = value.translate(_FULL_WIDTH)
    m = _NUMBER.match(text)
    if not m:
        raise NumberFormatError(
            f"{value!r} is not a number; write it as 1000000, 1,000,000, 100万 or 1.2亿"
        )
    try:
        number = Decimal(m.group("digits").replace(",", ""))
    except InvalidOperation as err:  # pragma: no cover - the regex admits only valid digits
        raise NumberFormatError(f"{value!r} is not a number") from err
    suffix = m.group("suffix")
    if suffix:
        number *= MAGNITUDES[suffix]
    if m.group("sign") == "-":
        number = -number
    return number.normalize() if number == number.to_integral_value() else number


def format_decimal(value: Decimal) -> str:
    """Plain text of a decimal without exponent: ``Decimal('1E+6')`` -> ``'1000000'``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
