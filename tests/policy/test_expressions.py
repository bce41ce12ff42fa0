"""Policy expressions: what is accepted, and every way of escaping that must be refused."""

from __future__ import annotations

import pytest

from fenji.policy.expressions import ExpressionError, parse_expression


def codes(text: str, scope: str = "entity") -> set[str]:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, scope)  # type: ignore[arg-type]
    return {p.code for p in info.value.problems}


def test_condition_with_chinese_magnitudes_parses_to_exact_numbers() -> None:
    parsed = parse_expression("annual_sales >= 100万 AND overdue_days_max <= 90")
    assert parsed.names == {"annual_sales", "overdue_days_max"}
    assert "1000000" in parsed.tree.sql()


def test_magnitude_inside_a_string_is_left_alone() -> None:
    parsed = parse_expression("remark = '100万'")
    assert "'100万'" in parsed.tree.sql()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("read_text('/etc/passwd')", "expr.unknown_function"),
        ("read_csv('x.csv') IS NOT NULL", "expr.unknown_function"),
        ("1; DROP TABLE x", "expr.statement"),
        ("a > 1; SELECT 1", "expr.statement"),
        ("(SELECT 1) > 0", "expr.subquery"),
        ("a IN (SELECT b FROM t)", "expr.subquery"),
        ("EXISTS (SELECT 1)", "expr.subquery"),
        ("system('ls')", "expr.unknown_function"),
        ("getenv('HOME') = 'x'", "expr.unknown_function"),
        ("t.a > 1", "expr.qualified_name"),
        ("a +", "expr.syntax"),
        ("'unterminated", "expr.syntax"),
        ("", "expr.empty"),
    ],
)
def test_escapes_and_garbage_are_validation_errors(text: str, code: str) -> None:
    assert code in codes(text)


def test_ten_thousand_nested_parentheses_is_an_error_not_a_crash() -> None:
    text = "(" * 10_000 + "1" + ")" * 10_000
    assert codes(text) & {"expr.too_deep", "expr.too_long"}


def test_deep_but_short_nesting_is_refused() -> None:
    text = "(" * 200 + "a" + ")" * 200
    assert "expr.too_deep" in codes(text)


def test_population_functions_are_refused_on_fact_rows() -> None:
    assert "expr.function_scope" in codes("share(amount) > 0.1", "row")


def test_wrong_number_of_arguments_is_reported() -> None:
    assert "expr.arity" in codes("tile(3)")


def test_known_functions_are_accepted() -> None:
    parsed = parse_expression("tile(3, sales) = 1 AND growth(a, b) >= 0.2 AND share(sales) > 0")
    assert parsed.uses_population
    assert parsed.divides
