"""Natural breaks (Jenks): optimal one-dimensional k-means by dynamic programming ("ckmeans").

A natural-breaks cut point cannot be computed set-based in SQL, so the engine takes it in two
steps (see :mod:`fenji.engine.prepass`): a first query summarises the in-scope values into at
most :data:`MAX_BUCKETS` buckets — every distinct value its own bucket when there are that few,
else runs of equal population — and this module finds the optimal classes over the buckets.

Why buckets with counts and sums rather than sampled points: the within-class sum of squares of
a union of buckets is the sum of the buckets' own spreads (the same for every partition) plus
the weighted spread of their means, so clustering the bucket means weighted by their counts is
*exactly* optimal among partitions that keep buckets whole. With at most 1,000 distinct values
that is the exact optimum over the data, and a class starts at the lowest value of its first
bucket. With more, a bucket may straddle a gap between classes; the class then starts at the
lowest value nearer its own mean than the mean of the class below (see :class:`Break`). Either
way a class starts at a value of the data, so the customer holding it is in that class under
an inclusive ``min`` bound.

Optimal 1-D k-means classes are contiguous runs of the sorted values (Wang and Song, "Ckmeans.1d.
dp", R Journal 2011), so the optimum over contiguous partitions found here is the optimum over
all partitions. O(k·n²) on n ≤ 1,000 buckets takes milliseconds with numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np
import numpy.typing as npt

#: The pre-pass returns at most this many buckets per sampled value.
MAX_BUCKETS = 1000

#: Midpoints between class means are written with this many decimals.
MIDPOINT_STEP = Decimal("1e-9")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Bucket:
    """A run of sorted values: the lowest (exact, as the engine returned it), how many rows,
    their sum (exact decimal) and how many distinct values it holds."""

    lo: Decimal
    n: int
    total: Decimal
    values: int = 1

    @property
    def mean(self) -> float:
        return float(self.total / self.n)


@dataclass(frozen=True)
class Break:
    """Where a class begins.

    ``value`` is the lowest value of the class when the buckets on both sides of the break
    each hold a single value: then the optimum puts every value on the side of the nearer
    class mean, so the class starts exactly there. When either holds several values the break
    may fall inside it, and the class starts at the lowest value at or above ``midpoint``,
    halfway between the two class means (the nearest-mean rule, applied to every value), which
    the engine looks up with one more query."""

    value: Decimal | None = None
    midpoint: Decimal | None = None


def _segment_costs(x: FloatArray, w: FloatArray) -> FloatArray:
    """``cost[i, j]``: weighted sum of squares of points ``i..j`` about their weighted mean.

    Each column is computed relative to its last point, so values far from zero (sales in the
    hundreds of millions) do not lose the small spreads to cancellation."""
    n = len(x)
    cost = np.full((n, n), np.inf)
    for j in range(n):
        d = x[: j + 1] - x[j]
        wj = w[: j + 1]
        # Suffix sums: entry i sums points i..j.
        sw = np.cumsum(wj[::-1])[::-1]
        s1 = np.cumsum((wj * d)[::-1])[::-1]
        s2 = np.cumsum((wj * d * d)[::-1])[::-1]
        cost[: j + 1, j] = np.maximum(s2 - s1 * s1 / sw, 0.0)
    return cost


def ckmeans(values: Sequence[float], k: int, weights: Sequence[float] | None = None) -> list[int]:
    """Start indices of the optimal ``k`` classes of ``values`` (sorted ascending), weighted.

    Returns ``min(k, len(values))`` indices, the first 0; class ``c`` is
    ``values[starts[c]:starts[c + 1]]``. Ties in cost go to the earliest split point, so the
    same input always gives the same classes."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return []
    if np.any(np.diff(x) < 0):
        raise ValueError("values must be sorted ascending")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != n or np.any(w <= 0):
        raise ValueError("weights must be positive, one per value")
    k = min(k, n)
    cost = _segment_costs(x, w)
    # best[m, j]: least cost of points 0..j in m + 1 classes; split[m, j]: start of the last.
    best = np.full((k, n), np.inf)
    split = np.zeros((k, n), dtype=np.int64)
    best[0] = cost[0]
    for m in range(1, k):
        for j in range(m, n):
            # The last class is i..j with i >= m (each earlier class needs a point).
            candidates = best[m - 1, m - 1 : j] + cost[m : j + 1, j]
            i = int(np.argmin(candidates))
            best[m, j] = candidates[i]
            split[m, j] = i + m
    starts: list[int] = []
    j = n - 1
    for m in range(k - 1, 0, -1):
        i = int(split[m, j])
        starts.append(i)
        j = i - 1
    starts.append(0)
    return starts[::-1]


def class_breaks(buckets: Sequence[Bucket], k: int) -> list[Break]:
    """Where each of the ``k`` natural-breaks classes of ``buckets`` (sorted) begins, the
    highest class first. Fewer buckets than ``k`` give fewer classes, one bucket each."""
    if not buckets:
        return []
    starts = ckmeans([b.mean for b in buckets], k, [float(b.n) for b in buckets])
    ends = [*starts[1:], len(buckets)]
    out: list[Break] = []
    with localcontext(prec=60):
        means = [
            sum((b.total for b in buckets[a:e]), Decimal(0)) / sum(b.n for b in buckets[a:e])
            for a, e in zip(starts, ends, strict=True)
        ]
        for c, s in enumerate(starts):
            if c == 0 or (buckets[s].values == 1 and buckets[s - 1].values == 1):
                out.append(Break(value=buckets[s].lo))
            else:
                # A short literal: the threshold only has to fall between the two means.
                midpoint = ((means[c - 1] + means[c]) / 2).quantize(MIDPOINT_STEP)
                out.append(Break(midpoint=midpoint))
    return out[::-1]


__all__ = ["MAX_BUCKETS", "Break", "Bucket", "ckmeans", "class_breaks"]
