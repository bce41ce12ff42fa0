"""Two versions of a policy side by side: the YAML diff and what it means.

A reviewer reads the unified diff to see exactly what was typed, and the structural summary to
see what it does: which metrics and dimensions were added, removed or changed, and — the
question behind most changes — which band bounds moved.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fenji.policy.dimensions import (
    BandsDimension,
    MatrixDimension,
    ParetoDimension,
    ScorecardDimension,
    StarsDimension,
)
from fenji.policy.models import Policy as PolicyModel
from fenji.policy.numbers import format_decimal
from fenji.web.policies.describe import band_text, cut_text
from fenji.web.policies.models import PolicyVersion
from fenji.web.policies.selectors import parsed_or_none


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: ``add``, ``del``, ``same`` or ``hunk`` (a @@ header)."""

    kind: str
    text: str
    old: int | None = None
    new: int | None = None


@dataclass(frozen=True)
class Change:
    """A metric, dimension, strategy or policy setting added, removed or changed."""

    part: str
    name: str
    kind: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BoundChange:
    """One label's bound in one dimension before and after (— when the label is new/gone)."""

    dimension: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Comparison:
    a: PolicyVersion
    b: PolicyVersion
    lines: list[DiffLine]
    changes: list[Change]
    bounds: list[BoundChange]
    #: False when a version no longer validates: only the text diff is shown.
    structural: bool = True

    @property
    def identical(self) -> bool:
        return not self.lines


def diff_lines(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """The unified diff of two texts with line numbers on both sides."""
    out: list[DiffLine] = []
    a, b = old.splitlines(), new.splitlines()
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(
            DiffLine(
                "hunk",
                f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@",
            )
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            out += [DiffLine("del", a[i], old=i + 1) for i in range(i1, i2)]
            out += [DiffLine("add", b[j], new=j + 1) for j in range(j1, j2)]
    return out


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _keyed_changes(part: str, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    for name in after:
        if name not in before:
            out.append(Change(part, name, "added"))
    for name in before:
        if name not in after:
            out.append(Change(part, name, "removed"))
    for name in after:
        if name in before:
            old, new = _dump(before[name]), _dump(after[name])
            if old != new:
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                out.append(Change(part, name, "changed", keys))
    return out


def _bounds(spec: Any, lang: str) -> dict[str, str]:
    """Each label's bound in a dimension, as text, for the methods that have bounds."""
    if isinstance(spec, BandsDimension):
        return {b.label: band_text(b, spec.metric, lang) for b in spec.bands}
    if isinstance(spec, StarsDimension):
        return {b.label: band_text(b, _("composite"), lang) for b in spec.stars}
    if isinstance(spec, ScorecardDimension):
        return {b.label: band_text(b, _("score"), lang) for b in spec.grades}
    if isinstance(spec, ParetoDimension):
        return {
            c.label: f"< {format_decimal(c.upto * 100)}%" if c.upto is not None else _("the rest")
            for c in spec.classes
        }
    if isinstance(spec, MatrixDimension):
        return {
            "x": f"{spec.x.metric} ≥ {cut_text(spec.x.cut, lang)}",
            "y": f"{spec.y.metric} ≥ {cut_text(spec.y.cut, lang)}",
        }
    return {}


def _bound_changes(old: PolicyModel, new: PolicyModel, lang: str) -> list[BoundChange]:
    out: list[BoundChange] = []
    for dim, spec in new.dimensions.items():
        before_spec = old.dimensions.get(dim)
        if before_spec is None:
            continue
        before, after = _bounds(before_spec, lang), _bounds(spec, lang)
        for label in [*after, *(x for x in before if x not in after)]:
            b, a = before.get(label, "—"), after.get(label, "—")
            if a != b:
                out.append(BoundChange(dim, label, b, a))
    return out


def _settings(old: PolicyModel, new: PolicyModel) -> list[Change]:
    keys = ("title", "description", "grain", "population", "summary")
    changed = [k for k in keys if _dump_any(getattr(old, k)) != _dump_any(getattr(new, k))]
    return [Change("policy", new.name, "changed", changed)] if changed else []


def _dump_any(value: Any) -> Any:
    return _dump(value) if hasattr(value, "model_dump") else value


def compare_versions(*, a: PolicyVersion, b: PolicyVersion, lang: str) -> Comparison:
    """What changed from version ``a`` to version ``b`` of one policy."""
    lines = diff_lines(a.yaml, b.yaml)
    old, new = parsed_or_none(a), parsed_or_none(b)
    if old is None or new is None:
        return Comparison(a=a, b=b, lines=lines, changes=[], bounds=[], structural=False)
    changes = (
        _settings(old, new)
        + _keyed_changes("metric", old.metrics, new.metrics)
        + _keyed_changes("dimension", old.dimensions, new.dimensions)
        + _keyed_changes("strategy", old.strategies, new.strategies)
    )
    return Comparison(a=a, b=b, lines=lines, changes=changes, bounds=_bound_changes(old, new, lang))
