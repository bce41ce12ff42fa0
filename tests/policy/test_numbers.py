from __future__ import annotations

from decimal import Decimal

import pytest

from fenji.policy.numbers import NumberFormatError, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (1000000, Decimal(1000000)),
        ("1,000,000", Decimal(1000000)),
        ("100万", Decimal(1000000)),
        ("1.2亿", Decimal(120000000)),
        ("￥1,234.5", Decimal("1234.5")),
        ("２.５", Decimal("2.5")),
        ("-3万", Decimal(-30000)),
        (2.5, Decimal("2.5")),
        ("50%", Decimal("0.5")),
    ],
)
def test_numbers_are_read_exactly(text: object, value: Decimal) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "1,00,0", "1.2.3", "万", True])
def test_non_numbers_are_refused_with_a_hint(text: object) -> None:
    with pytest.raises(NumberFormatError):
        parse_number(text)
