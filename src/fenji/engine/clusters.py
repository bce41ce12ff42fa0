"""The clusters pre-pass: k-means over chosen metrics, fitted in Python, joined back in SQL.

K-means cannot be computed set-based in SQL, so a ``clusters`` dimension is evaluated like the
model metrics (:mod:`fenji.engine.clv.prepass`):

1. **SQL.** The policy's metrics are compiled as usual (the same layers as the real query,
   without its dimensions) and one query returns, for the entities the dimension grades (in
   the policy's and the dimension's population, not forced by a ``first`` rule), the key, the
   clustered metrics, the value metric the clusters are ranked by and the revenue metric,
   ordered by the key.
2. **Python.** Entities with a missing metric are left out; each metric is optionally
   log-transformed (``log1p``, for money) and standardised; scikit-learn's k-means is fitted
   with the dimension's seed, for ``k`` clusters or for every k in ``k_range``, keeping the
   best silhouette (ties: the smaller k). Clusters are ranked by the mean of the value metric,
   highest first.
3. **Join.** The assignments (key, rank, k, distance to the centroid, cluster size, revenue
   share and centroid in original units) are registered as a small table,
   ``__fenji_clusters_<dimension>``, which the compiled query left-joins by name; the label is
   the rank's label and the explanation shows the cluster's profile.

Rows come back ordered by the key and k-means is seeded, so the same data and seed give the
same clusters whatever the order of the input rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlglot import exp

from fenji.engine.compiler import compile_columns, stack_layers, with_ctes
from fenji.engine.context import CompileContext, col
from fenji.engine.dialects import DUCKDB, EngineDialect
from fenji.engine.methods.common import scope
from fenji.engine.metrics import CLUSTER_COLUMNS, cluster_table
from fenji.policy.dimensions import ClustersDimension
from fenji.policy.models import Policy

if TYPE_CHECKING:
    import pyarrow as pa

#: Silhouettes are taken over at most this many entities (a fixed, seeded sample beyond it):
#: the score costs the square of the number of points.
SILHOUETTE_SAMPLE = 4000


@dataclass(frozen=True)
class Clustering:
    """The fitted clusters of ``n`` entities: per entity its rank (0 = not clustered) and
    distance; per rank (index ``rank - 1``) its centroid in original units, size and share."""

    k: int
    ranks: np.ndarray[Any, np.dtype[np.int64]]
    distances: np.ndarray[Any, np.dtype[np.float64]]
    centroids: np.ndarray[Any, np.dtype[np.float64]]
    sizes: list[int]
    shares: list[float | None]


def _transform(x: np.ndarray[Any, Any], logs: list[bool]) -> np.ndarray[Any, Any]:
    z = x.copy()
    for j, log in enumerate(logs):
        if log:
            z[:, j] = np.sign(z[:, j]) * np.log1p(np.abs(z[:, j]))
    mean = z.mean(axis=0)
    std = z.std(axis=0)
    std[std == 0] = 1.0
    return (z - mean) / std  # type: ignore[no-any-return]


def fit_clusters(
    x: np.ndarray[Any, Any],
    value: np.ndarray[Any, Any],
    revenue: np.ndarray[Any, Any],
    logs: list[bool],
    k_bounds: tuple[int, int],
    seed: int,
) -> Clustering:
    """Cluster the rows of ``x`` (NaN = missing: such rows are not clustered) and rank the
    clusters by the mean of ``value``, highest first."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = x.shape[0]
    ok = ~np.isnan(x).any(axis=1) if n else np.zeros(0, dtype=bool)
    ranks = np.zeros(n, dtype=np.int64)
    distances = np.full(n, np.nan)
    m = int(ok.sum())
    if m == 0:
        return Clustering(0, ranks, distances, np.zeros((0, x.shape[1])), [], [])
    pts = x[ok]
    z = _transform(pts, logs)
    distinct = len(np.unique(z, axis=0))
    lo, hi = k_bounds
    hi = min(hi, distinct)
    lo = min(lo, hi)
    if hi < 2:
        assign = np.zeros(m, dtype=np.int64)
        centers = z.mean(axis=0, keepdims=True)
    else:
        best: tuple[float, int, Any] | None = None
        for k in range(lo, hi + 1):
            model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(z)
            if lo == hi:
                best = (0.0, k, model)
                break
            score = float(
                silhouette_score(
                    z,
                    model.labels_,
                    sample_size=min(m, SILHOUETTE_SAMPLE),
                    random_state=seed,
                )
            )
            if best is None or score > best[0] + 1e-12:
                best = (score, k, model)
        assert best is not None
        assign = np.asarray(best[2].labels_, dtype=np.int64)
        centers = np.asarray(best[2].cluster_centers_, dtype=np.float64)
    k = int(centers.shape[0])
    vals = value[ok]
    revs = revenue[ok]
    total = float(np.nansum(revs))
    keys: list[tuple[float, int, tuple[float, ...]]] = []
    for c in range(k):
        member = assign == c
        v = vals[member]
        mean_v = float(np.nanmean(v)) if (~np.isnan(v)).any() else -math.inf
        keys.append(
            (-mean_v, -int(member.sum()), tuple(float(t) for t in pts[member].mean(axis=0)))
        )
    order = sorted(range(k), key=lambda c: keys[c])
    rank_of = np.empty(k, dtype=np.int64)
    for r, c in enumerate(order):
        rank_of[c] = r + 1
    ranks[ok] = rank_of[assign]
    distances[ok] = np.linalg.norm(z - centers[assign], axis=1)
    centroids = np.stack([pts[assign == c].mean(axis=0) for c in order])
    sizes = [int((assign == c).sum()) for c in order]
    shares: list[float | None] = [
        float(np.nansum(revs[assign == c])) / total if total > 0 else None for c in order
    ]
    return Clustering(k, ranks, distances, centroids, sizes, shares)


def clusters_query(
    policy: Policy,
    dim: str,
    spec: ClustersDimension,
    as_of: date,
    tables: Mapping[str, set[str]],
    *,
    dialect: EngineDialect = DUCKDB,
) -> str:
    """The pre-pass query of dimension ``dim``: key, clustered metrics, value and revenue of
    every entity it grades, ordered by the key."""
    bare = policy.model_copy(update={"dimensions": {}})
    ctx = CompileContext(policy=bare, as_of=as_of, dialect=dialect, key=policy.key_columns)
    parts = compile_columns(ctx, tables)
    scope_defs, in_scope = scope(dim, spec, ctx)
    layers, top = stack_layers(
        parts.base, parts.provided, parts.defs + scope_defs, parts.population
    )
    revenue = policy.summary.revenue or spec.value
    numbers = [m.metric for m in spec.metrics] + [spec.value, revenue]
    double = exp.DataType.build("DOUBLE")
    query = exp.select(
        *[col(k) for k in ctx.key],
        *[
            exp.alias_(exp.Cast(this=col(name), to=double.copy()), f"v{i}", quoted=True)
            for i, name in enumerate(numbers)
        ],
    ).from_(top)
    if not isinstance(in_scope, exp.Boolean):
        query = query.where(in_scope)
    query = query.order_by(*[col(k) for k in ctx.key])
    return dialect.sql(with_ctes(query, layers))


def cluster_arrow(
    rows: pa.Table, spec: ClustersDimension, key: tuple[str, ...]
) -> tuple[pa.Table, Clustering]:
    """The table to register for the pre-pass query's ``rows``: one row per clustered entity."""
    import pyarrow as pa

    width = len(spec.metrics)

    def column(i: int) -> np.ndarray[Any, Any]:
        values = rows.column(f"v{i}").to_pylist()
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

    n = rows.num_rows
    x = np.stack([column(i) for i in range(width)], axis=1) if n else np.zeros((0, width))
    found = fit_clusters(
        x,
        column(width),
        column(width + 1),
        [m.log for m in spec.metrics],
        spec.k_bounds,
        spec.seed,
    )
    keep = pa.array(found.ranks > 0) if n else pa.array([], type=pa.bool_())
    kept = rows.select(list(key)).filter(keep)
    ranks = found.ranks[found.ranks > 0]
    idx = ranks - 1
    data: dict[str, Any] = {k: kept.column(k) for k in key}
    data[CLUSTER_COLUMNS[0]] = pa.array(ranks, type=pa.int32())
    data[CLUSTER_COLUMNS[1]] = pa.array(np.full(len(ranks), found.k), type=pa.int32())
    data[CLUSTER_COLUMNS[2]] = pa.array(found.distances[found.ranks > 0], type=pa.float64())
    data[CLUSTER_COLUMNS[3]] = pa.array([found.sizes[i] for i in idx], type=pa.int64())
    data[CLUSTER_COLUMNS[4]] = pa.array([found.shares[i] for i in idx], type=pa.float64())
    for j in range(width):
        data[f"c{j}"] = pa.array([float(found.centroids[i, j]) for i in idx], type=pa.float64())
    return pa.table(data), found


def resolve_clusters(
    policy: Policy,
    as_of: date,
    tables: Mapping[str, set[str]],
    run: Callable[[str], pa.Table],
    register: Callable[[str, pa.Table], None],
    *,
    dialect: EngineDialect = DUCKDB,
) -> tuple[dict[str, set[str]], dict[str, Clustering]]:
    """Fit the clusters of every ``clusters`` dimension of ``policy`` and register their
    tables; returns the tables' columns with the cluster tables added, and the clusterings."""
    columns = dict(tables)
    found: dict[str, Clustering] = {}
    for dim, spec in policy.dimensions.items():
        if not isinstance(spec, ClustersDimension):
            continue
        rows = run(clusters_query(policy, dim, spec, as_of, tables, dialect=dialect))
        table, found[dim] = cluster_arrow(rows, spec, policy.key_columns)
        name = cluster_table(dim)
        register(name, table)
        columns[name] = set(table.column_names)
    return columns, found


__all__ = [
    "Clustering",
    "cluster_arrow",
    "clusters_query",
    "fit_clusters",
    "resolve_clusters",
]
