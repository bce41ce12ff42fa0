"""Properties every shipped policy keeps on realistic data.

The demo generator writes a small customer base (300 customers, parquet, fixed seed) once for
the module; every shipped policy is then evaluated over it and must give exactly one row per
entity, only labels its dimensions can give, the same result whatever the row order, the same
labels with explanations on (each label explained) and in English as in Chinese.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fenji.api import policy_sources
from fenji.demo.generate import generate
from fenji.engine.evaluate import evaluate_tables
from fenji.engine.labels import label_order
from fenji.io import read_dataset
from fenji.policy.models import Policy
from fenji.policy.validate import load_policy

from ..conftest import POLICIES

AS_OF = date(2026, 10, 31)
PATHS = sorted(POLICIES.glob("*.yaml"))
Tables = dict[str, pa.Table]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    out = tmp_path_factory.mktemp("demo")
    generate(out, customers=300, fmt="parquet", seed=20261031, as_of=AS_OF)
    return read_dataset(out)


class Runs:
    """Evaluations of one policy over the demo data, each computed once and shared."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._cache: dict[tuple[str, str, bool, bool], pa.Table] = {}

    def table(
        self, path: Path, *, lang: str = "zh", explain: bool = False, shuffled: bool = False
    ) -> pa.Table:
        key = (path.stem, lang, explain, shuffled)
        if key not in self._cache:
            tables = shuffle(self.tables) if shuffled else self.tables
            result = evaluate_tables(load_policy(path), tables, AS_OF, lang=lang, explain=explain)
            self._cache[key] = result.table
            result.close()
        return self._cache[key]


@pytest.fixture(scope="module")
def runs(demo: Tables) -> Runs:
    return Runs(demo)


def shuffle(tables: Tables) -> Tables:
    """Every table with its rows in a different (fixed) order."""
    rng = np.random.default_rng(7)
    return {name: t.take(pa.array(rng.permutation(t.num_rows))) for name, t in tables.items()}


def keys(table: pa.Table, policy: Policy) -> list[tuple[Any, ...]]:
    columns = [table.column(k).to_pylist() for k in policy.key_columns]
    return list(zip(*columns, strict=True))


def entities(policy: Policy, tables: Tables) -> set[tuple[Any, ...]]:
    """What the policy grades, worked out here from the inputs: every customer, or every
    (customer, line) in a fact table the policy reads, dated up to the as-of date."""
    if policy.grain == "customer":
        return {(c,) for c in tables["customers"].column("customer_id").to_pylist()}
    sources = policy_sources(policy)
    found: set[tuple[Any, ...]] = set()
    for name in {m.source for m in policy.metrics.values() if m.source is not None}:
        t = tables[name]
        dated = sources[name].date_column
        if dated is not None:
            t = t.filter(pc.less_equal(t.column(dated), pa.scalar(AS_OF)))
        t = t.filter(pc.is_valid(t.column("business_line")))
        found |= set(keys(t, policy))
    return found


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_exactly_one_row_per_entity(path: Path, runs: Runs, demo: Tables) -> None:
    policy = load_policy(path)
    table = runs.table(path)
    found = keys(table, policy)
    assert len(found) == len(set(found)), "duplicate keys"
    expected = entities(policy, demo)
    if policy.population is None:
        assert set(found) == expected
    else:
        # the policy's population leaves some out, and without it every entity is there
        assert set(found) < expected
        everyone = policy.model_copy(update={"population": None})
        assert set(keys(evaluate_tables(everyone, demo, AS_OF).table, policy)) == expected


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_every_label_is_one_the_dimension_can_give(path: Path, runs: Runs) -> None:
    policy = load_policy(path)
    table = runs.table(path)
    for dim, spec in policy.dimensions.items():
        given = {v for v in table.column(dim).to_pylist() if v not in (None, "")}
        assert given, f"dimension '{dim}' gave no label at all"
        assert given <= set(label_order(spec)), f"dimension '{dim}'"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_row_order_does_not_change_the_result(path: Path, runs: Runs) -> None:
    assert runs.table(path, shuffled=True).equals(runs.table(path))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_explanations_change_no_label_and_explain_every_label(path: Path, runs: Runs) -> None:
    policy = load_policy(path)
    plain = runs.table(path)
    explained = runs.table(path, explain=True)
    assert explained.select(plain.column_names).equals(plain)
    for dim in policy.dimensions:
        labels = explained.column(dim).to_pylist()
        rows = zip(labels, explained.column(f"{dim}.why").to_pylist(), strict=True)
        unexplained = [
            label for label, why in rows if label is not None and not (why or "").strip()
        ]
        assert not unexplained, f"dimension '{dim}': labels without an explanation"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_english_and_chinese_give_the_same_labels(path: Path, runs: Runs) -> None:
    zh = runs.table(path, explain=True)
    en = runs.table(path, lang="en", explain=True)
    same = [c for c in zh.column_names if not c.endswith(".why")]
    assert en.select(same).equals(zh.select(same))
    assert en.column_names == zh.column_names
