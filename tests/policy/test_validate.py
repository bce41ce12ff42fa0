"""Policy validation: every problem at once, with its YAML path, line and a hint."""

from __future__ import annotations

from pathlib import Path

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
