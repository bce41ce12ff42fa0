"""``hysteresis: {downgrade_after: N}`` on a dimension: optional, N >= 1, with a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from fenji.policy.validate import PolicyError, parse_policy

S1 = (Path(__file__).parents[2] / "examples" / "policies" / "tob_abcd.yaml").read_text(
    encoding="utf-8"
)


def with_hysteresis(value: str) -> str:
    return S1.replace("    method: scorecard", f"    method: scorecard\n    hysteresis: {value}")


def test_hysteresis_is_off_by_default() -> None:
    policy = parse_policy(S1)
    assert all(d.hysteresis is None for d in policy.dimensions.values())


def test_hysteresis_keeps_its_count() -> None:
    policy = parse_policy(with_hysteresis("{downgrade_after: 3}"))
    hysteresis = policy.dimensions["overall"].hysteresis
    assert hysteresis is not None
    assert hysteresis.downgrade_after == 3


@pytest.mark.parametrize("value", ["{downgrade_after: 0}", "{downgrade_after: -2}", "{after: 2}"])
def test_a_bad_hysteresis_is_reported_at_its_field(value: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(with_hysteresis(value))
    assert "dimensions.overall.hysteresis" in str(err.value)
    if "downgrade_after: 0" in value:
        assert "1 or more" in str(err.value)
