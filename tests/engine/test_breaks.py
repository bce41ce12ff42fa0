"""Natural breaks: the ckmeans dynamic programme against brute force, with exact fractions."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fenji.engine.breaks import Break, Bucket, ckmeans, class_breaks


def sum_of_squares(groups: Sequence[Sequence[tuple[int, int]]]) -> Fraction:
    """Weighted within-group sum of squares of (value, weight) groups, exactly."""
    total = Fraction(0)
    for group in groups:
        weight = sum(w for _, w in group)
        mean = Fraction(sum(v * w for v, w in group), weight)
        total += sum(w * (v - mean) ** 2 for v, w in group)
    return total


def set_partitions(n: int, k: int) -> Iterator[list[int]]:
    """Every assignment of ``n`` items to at most ``k`` unnamed groups (restricted growth)."""

    def grow(prefix: list[int], used: int) -> Iterator[list[int]]:
        if len(prefix) == n:
            yield prefix
            return
        for g in range(min(used + 1, k)):
            yield from grow([*prefix, g], max(used, g + 1))

    yield from grow([], 0)


def brute_force(points: list[tuple[int, int]], k: int) -> Fraction:
    """The least sum of squares over *all* partitions into at most k groups, contiguous or not."""
    best: Fraction | None = None
    for assignment in set_partitions(len(points), k):
        groups: dict[int, list[tuple[int, int]]] = {}
        for point, g in zip(points, assignment, strict=True):
            groups.setdefault(g, []).append(point)
        cost = sum_of_squares(list(groups.values()))
        best = cost if best is None or cost < best else best
    assert best is not None
    return best


def classes_of(points: list[tuple[int, int]], starts: list[int]) -> list[list[tuple[int, int]]]:
    ends = [*starts[1:], len(points)]
    return [points[a:b] for a, b in zip(starts, ends, strict=True)]


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(-20, 20), min_size=1, max_size=7),
    weights=st.lists(st.integers(1, 5), min_size=7, max_size=7),
    k=st.integers(1, 4),
)
def test_ckmeans_is_optimal_against_brute_force(
    values: list[int], weights: list[int], k: int
) -> None:
    # given sorted values with weights, duplicates allowed
    points = sorted(zip(values, weights[: len(values)], strict=True))
    # when
    starts = ckmeans([float(v) for v, _ in points], k, [float(w) for _, w in points])
    # then the classes are contiguous runs, as many as possible, and no partition is better
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    assert len(starts) == min(k, len(points))
    assert sum_of_squares(classes_of(points, starts)) == brute_force(points, k)


def exact_dp(values: list[int], k: int) -> Fraction:
    """A second, plain-Python dynamic programme over contiguous runs with exact fractions."""
    n = len(values)
    best: dict[tuple[int, int], Fraction] = {}
    for j in range(n):
        best[(1, j)] = sum_of_squares([[(v, 1) for v in values[: j + 1]]])
    for m in range(2, k + 1):
        for j in range(m - 1, n):
            best[(m, j)] = min(
                best[(m - 1, i - 1)] + sum_of_squares([[(v, 1) for v in values[i : j + 1]]])
                for i in range(m - 1, j + 1)
            )
    return best[(min(k, n), n - 1)]


def test_ckmeans_matches_an_exact_dynamic_programme_on_larger_input() -> None:
    rng = random.Random(7)
    values = sorted(rng.choice([0, 40, 100]) + rng.randint(0, 25) for _ in range(30))
    for k in (2, 3, 5):
        starts = ckmeans([float(v) for v in values], k)
        points = [(v, 1) for v in values]
        assert sum_of_squares(classes_of(points, starts)) == exact_dp(values, k)


def test_obvious_clusters_are_found() -> None:
    values = [1.0, 2.0, 3.0, 50.0, 51.0, 52.0, 53.0, 1000.0, 1003.0]
    assert ckmeans(values, 3) == [0, 3, 7]


def test_large_values_keep_small_spreads() -> None:
    # Sales in the hundreds of millions with a gap of a few yuan must still split exactly.
    base = 300_000_000.0
    values = [base, base + 1, base + 2, base + 40, base + 41]
    assert ckmeans(values, 2) == [0, 3]


def test_same_input_gives_the_same_classes() -> None:
    rng = random.Random(3)
    values = sorted(float(rng.randint(0, 1000)) for _ in range(800))
    assert ckmeans(values, 6) == ckmeans(list(values), 6)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="sorted"):
        ckmeans([2.0, 1.0], 2)
    with pytest.raises(ValueError, match="weights"):
        ckmeans([1.0, 2.0], 2, [1.0, 0.0])
    with pytest.raises(ValueError, match="at least 1"):
        ckmeans([1.0], 0)
    assert ckmeans([], 3) == []


def bucket(value: int, n: int = 1) -> Bucket:
    return Bucket(Decimal(value), n, Decimal(value * n))


def floors(buckets: list[Bucket], k: int) -> list[Decimal | None]:
    return [b.value for b in class_breaks(buckets, k)]


def test_classes_start_at_their_lowest_value_highest_class_first() -> None:
    buckets = [bucket(v) for v in (1, 2, 3, 50, 51, 1000)]
    assert floors(buckets, 3) == [Decimal(1000), Decimal(50), Decimal(1)]


def test_weights_count_like_repeated_values() -> None:
    # 11 is nearer 20 than 0, so it joins 20; ten customers at 20 make that class so tight
    # that 11 is cheaper with 0. A bucket of n equal values weighs n.
    assert floors([bucket(0), bucket(11), bucket(20)], 2) == [Decimal(11), Decimal(0)]
    assert floors([bucket(0), bucket(11), bucket(20, 10)], 2) == [Decimal(20), Decimal(0)]
    assert ckmeans([0.0, 11.0, *[20.0] * 10], 2) == [0, 2]


def test_fewer_values_than_classes_gives_one_class_per_value() -> None:
    assert floors([bucket(5, 3), bucket(9)], 4) == [Decimal(9), Decimal(5)]
    assert floors([], 4) == []


def test_a_break_next_to_a_bucket_of_several_values_is_a_midpoint() -> None:
    # given buckets of several values each (more distinct values than buckets)
    buckets = [
        Bucket(Decimal(0), 4, Decimal(20), values=4),  # mean 5
        Bucket(Decimal(10), 4, Decimal(60), values=4),  # mean 15: classes (0-15) mean 10
        Bucket(Decimal(100), 4, Decimal(420), values=4),  # mean 105
    ]
    # when
    breaks = class_breaks(buckets, 2)
    # then the upper class starts at the lowest value nearer its mean than the lower's mean
    assert breaks == [Break(midpoint=Decimal("57.5")), Break(value=Decimal(0))]
