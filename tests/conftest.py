"""Shared fixtures: paths of the shipped policies and of the acceptance scenarios."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies"


def acceptance_dir() -> Path:
    env = os.environ.get("FENJI_ACCEPTANCE_DIR")
    if env:
        return Path(env)
    return ROOT.parent / "shared" / "acceptance" / "seed-standards"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden SQL snapshots under tests/engine/snapshots/",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _private_check_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Remembered file checks go to a folder of the test run, never the user's cache."""
    if "FENJI_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("FENJI_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "check-cache"))
