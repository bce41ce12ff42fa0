"""Golden SQL: the compiled query of every shipped policy, per engine, reviewed in diffs.

Regenerate with ``pytest tests/engine/test_golden_sql.py --update-golden`` and read the diff:
a change here is a change of what every customer's grade is computed from.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fenji.api import policy_sources
from fenji.engine.compiler import compile_policy
from fenji.engine.dialects import DIALECTS
from fenji.policy.validate import load_policy

from ..conftest import POLICIES

SNAPSHOTS = Path(__file__).parent / "snapshots"
AS_OF = date(2026, 10, 31)


@pytest.mark.parametrize("engine", sorted(DIALECTS))
@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_compiled_sql_matches_snapshot(path: Path, engine: str, update_golden: bool) -> None:
    policy = load_policy(path)
    tables = {name: set(s.column_names) for name, s in policy_sources(policy).items()}
    sql = compile_policy(policy, AS_OF, tables, dialect=DIALECTS[engine]).sql(pretty=True) + "\n"
    snapshot = SNAPSHOTS / engine / f"{path.stem}.sql"
    if update_golden or not snapshot.exists():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(sql, encoding="utf-8")
        if not update_golden:
            pytest.fail(f"no snapshot yet; wrote {snapshot}: review and commit it")
    assert sql == snapshot.read_text(encoding="utf-8"), (
        f"compiled SQL of {path.name} changed; rerun with --update-golden and review the diff"
    )
