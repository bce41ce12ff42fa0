"""``fenji run`` and ``fenji policy publish`` on the system of record."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fenji.cli import app
from fenji.web.evaluations.models import EvaluationRun, RunStatus
from fenji.web.policies.models import PolicyVersion
from tests.web.runs_support import POLICY, POLICY_YAML, make_customers_and_orders

pytestmark = pytest.mark.django_db

runner = CliRunner()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "runs_test.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    return path


def test_policy_publish_saves_a_version_once(policy_file: Path) -> None:
    first = runner.invoke(app, ["policy", "publish", str(policy_file)])
    again = runner.invoke(app, ["policy", "publish", str(policy_file), "--lang", "en"])

    assert first.exit_code == 0, first.output
    assert "runs_test v1" in first.output
    assert "已发布" in first.output
    assert again.exit_code == 0
    assert "same as the published version" in again.output
    assert PolicyVersion.objects.filter(policy__name=POLICY).count() == 1


def test_policy_publish_reports_a_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY_YAML.replace("min: 1000", "min: lots"), encoding="utf-8")

    result = runner.invoke(app, ["policy", "publish", str(bad)])

    assert result.exit_code == 1
    assert "bad.yaml" in result.output
    assert "dimensions.value.bands" in result.output


def test_run_prints_the_summary_and_the_diff(policy_file: Path) -> None:
    make_customers_and_orders()
    runner.invoke(app, ["policy", "publish", str(policy_file)])

    first = runner.invoke(app, ["run", "--policy", POLICY, "--as-of", "2026-01-31"])
    second = runner.invoke(
        app, ["run", "--policy", POLICY, "--as-of", "2026-02", "--lang", "en", "--top", "2"]
    )

    assert first.exit_code == 0, first.output
    assert "价值等级" in first.output
    assert "首次评估" in first.output
    assert second.exit_code == 0, second.output
    assert "changes since the previous run" in second.output
    assert "upgrades" in second.output
    assert "biggest movements" in second.output
    assert "C1" in second.output
    assert "2 more changes not listed" in second.output
    assert EvaluationRun.objects.filter(status=RunStatus.PUBLISHED).count() == 1


def test_run_a_series_of_month_ends(policy_file: Path) -> None:
    make_customers_and_orders()
    runner.invoke(app, ["policy", "publish", str(policy_file)])

    result = runner.invoke(
        app, ["run", "--policy", POLICY, "--from", "2026-01-01", "--to", "2026-03-31"]
    )

    assert result.exit_code == 0, result.output
    assert [str(r.as_of) for r in EvaluationRun.objects.order_by("as_of")] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
    ]
    assert result.output.count("评估批次 #") == 3


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--as-of", "2026-01-31", "--from", "2026-01-01", "--to", "2026-02-28"],
        ["--from", "2026-01-01"],
        ["--as-of", "someday"],
    ],
)
def test_run_needs_one_date_or_a_range(args: list[str]) -> None:
    result = runner.invoke(app, ["run", "--policy", POLICY, *args])

    assert result.exit_code == 2


def test_run_of_an_unpublished_policy_says_how_to_publish() -> None:
    result = runner.invoke(app, ["run", "--policy", "nope", "--as-of", "2026-01-31"])

    assert result.exit_code == 1
    assert "fenji policy publish" in result.output
