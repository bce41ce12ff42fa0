"""Where the shipped example policies are: ``examples/policies`` in a source checkout, or the
copy packaged into the wheel as ``fenji/_policies``."""

from __future__ import annotations

from pathlib import Path

ORDER = (
    "tob_abcd",
    "value_abcd",
    "ei_matrix",
    "dealer_monthly",
    "classes",
    "rfm8",
    "rfm_segments",
    "stars",
)


def policies_dir() -> Path:
    packaged = Path(__file__).parent / "_policies"
    if packaged.is_dir():
        return packaged
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "policies"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the shipped policies (examples/policies) are not installed")


def shipped_policies() -> list[Path]:
    """The shipped policy files, the seed standards first in S1..S7 order."""
    folder = policies_dir()
    files = {p.stem: p for p in folder.glob("*.yaml")}
    ordered = [files.pop(name) for name in ORDER if name in files]
    return ordered + sorted(files.values())
