"""Policy validation: every problem at once, with its YAML path, line and a hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fenji.policy.validate import PolicyError, parse_policy
from fenji.policy.yaml_loader import dump_yaml

from ..conftest import POLICIES

BROKEN = """\
fenji: 1
name: broken
title: Broken
metrics:
  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months, unit: yuan}
  bad_window: {agg: sum, from: orders, of: amount, window: 12 weeks}
  escape: {expr: "read_text('/etc/passwd')"}
dimensions:
  sales:
    method: bands
    metric: sales_12m
    bands:
      - {label: A, min: 50万}
      - {label: B, min: 100万}
      - {label: C}
  rules_dim:
    method: rules
    rules:
      - {label: X, when: "unknown_metric > 1"}
  typo:
    method: bandz
"""


def issues_of(text: str) -> list:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, file="p.yaml")
    return info.value.issues


def test_shape_problems_are_all_reported_with_lines() -> None:
    issues = issues_of(BROKEN)
    by_path = {i.path: i for i in issues}
    assert by_path["metrics.bad_window.window"].line == 6
    assert by_path["dimensions.typo"].line == 20
    assert "bands" in by_path["dimensions.typo"].hint


def test_meaning_problems_are_all_reported_with_lines() -> None:
    text = BROKEN.replace(
        "  bad_window: {agg: sum, from: orders, of: amount, window: 12 weeks}\n", ""
    )
    text = text.replace("  typo:\n    method: bandz\n", "")
    issues = issues_of(text)
    codes = {i.code for i in issues}
    assert "policy.band_order" in codes
    assert "policy.unknown_name" in codes
    assert "policy.expr.unknown_function" in codes
    order = next(i for i in issues if i.code == "policy.band_order")
    assert order.path == "dimensions.sales.bands[1].min"
    assert order.line == 13
    assert "decrease" in order.hint


def test_yaml_syntax_error_points_at_the_line() -> None:
    issues = issues_of("fenji: 1\nname: x\ntitle: [unclosed\n")
    assert issues[0].code == "policy.yaml_syntax"
    assert issues[0].line is not None


def test_unknown_key_is_an_error_not_ignored() -> None:
    text = (
        BROKEN.split("dimensions:")[0]
        .replace("  bad_window: {agg: sum, from: orders, of: amount, window: 12 weeks}\n", "")
        .replace("  escape: {expr: \"read_text('/etc/passwd')\"}\n", "")
    )
    text += "dimensions:\n  s:\n    method: bands\n    metric: sales_12m\n    bandz: []\n"
    issues = issues_of(text)
    assert any(i.code == "policy.extra_forbidden" and "bandz" in i.message for i in issues)


def test_cycle_between_metrics_is_reported() -> None:
    text = (
        "fenji: 1\nname: c\ntitle: c\nmetrics:\n  a: {expr: 'b + 1'}\n  b: {expr: 'a + 1'}\n"
        "dimensions:\n  d: {method: bands, metric: a, bands: [{label: X}]}\n"
    )
    assert any(i.code == "policy.cycle" for i in issues_of(text))


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_policies_round_trip_through_yaml(path: Path) -> None:
    policy = parse_policy(path.read_text(encoding="utf-8"))
    again = parse_policy(dump_yaml(policy.to_data()))
    assert again == policy


def natural_breaks_policy(*bands: str) -> str:
    lines = "\n".join(f"      - {b}" for b in bands)
    return (
        "fenji: 1\nname: n\ntitle: n\nmetrics:\n"
        "  sales_12m: {agg: sum, from: orders, of: amount, window: 12 months}\n"
        "dimensions:\n  sales:\n    method: bands\n    metric: sales_12m\n    bands:\n"
        f"{lines}\n"
    )


def test_natural_breaks_round_trip_through_yaml() -> None:
    text = natural_breaks_policy(
        "{label: A, min: {natural_breaks: 3, class: 1, where: 'sales_12m > 0'}}",
        "{label: B, min: {natural_breaks: 3, class: 2}}",
        "{label: C}",
    )
    policy = parse_policy(text)
    bound: Any = policy.dimensions["sales"]
    assert (bound.bands[0].min.classes, bound.bands[0].min.class_) == (3, 1)
    assert parse_policy(dump_yaml(policy.to_data())) == policy


@pytest.mark.parametrize(
    ("cut", "code", "words"),
    [
        ("{natural_breaks: 1, class: 1}", "policy.natural_breaks_classes", "2 to 10"),
        ("{natural_breaks: 11, class: 1}", "policy.natural_breaks_classes", "2 to 10"),
        ("{natural_breaks: 4, class: 0}", "policy.natural_breaks_class", "1 (the highest) to 3"),
        ("{natural_breaks: 4, class: 4}", "policy.natural_breaks_class", "class 4 of 4"),
    ],
)
def test_natural_breaks_classes_are_checked(cut: str, code: str, words: str) -> None:
    issues = issues_of(natural_breaks_policy(f"{{label: A, min: {cut}}}", "{label: B}"))
    assert [(i.code, i.path, i.line) for i in issues] == [
        (code, "dimensions.sales.bands[0].min", 11)
    ]
    assert words in issues[0].message
    assert "dimension 'sales'" in issues[0].message
    assert issues[0].hint


@pytest.mark.parametrize(
    ("cut", "words"),
    [
        ("{natural_breaks: 4}", "needs the number of classes and the class"),
        ("{natural_breaks: true, class: 1}", "write the number of classes"),
        ("{percentile: 80, class: 1}", "'class' applies to natural breaks"),
    ],
)
def test_natural_breaks_shape_is_explained(cut: str, words: str) -> None:
    issues = issues_of(natural_breaks_policy(f"{{label: A, min: {cut}}}", "{label: B}"))
    assert len(issues) == 1
    assert issues[0].path.startswith("dimensions.sales.bands[0].min")
    assert words in issues[0].message


def test_natural_breaks_classes_must_go_down_with_the_bands() -> None:
    text = natural_breaks_policy(
        "{label: A, min: {natural_breaks: 4, class: 2}}",
        "{label: B, min: {natural_breaks: 4, class: 1}}",
        "{label: C}",
    )
    issues = issues_of(text)
    assert [(i.code, i.path) for i in issues] == [
        ("policy.band_order", "dimensions.sales.bands[1].min")
    ]
    assert "class 1 of 4" in issues[0].message
