"""The labels a dimension can give, best first — for summaries, ordering and "next tier"."""

from __future__ import annotations

from typing import Any

from fenji.policy.dimensions import (
    BandsDimension,
    ClustersDimension,
    MatrixDimension,
    ParetoDimension,
    RfmDimension,
    RulesDimension,
    ScorecardDimension,
    StarsDimension,
)


def label_order(spec: Any) -> list[str]:
    """Labels of a dimension spec, best first: the ``labels`` list when given, else the order
    in which the method lists them, then forced and outside labels."""
    out: list[str] = list(spec.labels)
    if isinstance(spec, BandsDimension):
        out += [b.label for b in spec.bands] + ([spec.missing] if spec.missing else [])
    elif isinstance(spec, RulesDimension):
        out += [r.label for r in spec.rules] + ([spec.default] if spec.default else [])
    elif isinstance(spec, ScorecardDimension):
        out += [b.label for b in spec.grades] + [r.label for r in spec.red_lines]
    elif isinstance(spec, MatrixDimension):
        q = spec.quadrants
        out += [q.high_high, q.high_low, q.low_high, q.low_low]
    elif isinstance(spec, ParetoDimension):
        out += [c.label for c in spec.classes]
    elif isinstance(spec, RfmDimension):
        out += list(spec.classes.values()) if spec.model == "cn8" else []
        out += [r.label for r in spec.segments] + ([spec.default] if spec.default else [])
    elif isinstance(spec, StarsDimension):
        out += [b.label for b in spec.stars]
    elif isinstance(spec, ClustersDimension):
        out += [spec.rank_label(r) for r in range(1, spec.k_bounds[1] + 1)]
        out += [spec.missing] if spec.missing else []
    out += [r.label for r in spec.first]
    if spec.outside:
        out.append(spec.outside)
    return list(dict.fromkeys(out))
