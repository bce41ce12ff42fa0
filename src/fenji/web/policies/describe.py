"""A policy in words: what each metric measures and how each dimension decides its labels.

The YAML is exact but long; a sales manager reviewing a change wants "A: 近12个月销售额 ≥ 100万,
B: ≥ 50万 …" in tier order. Built from the validated model, so it always says what the engine
will do, in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from fenji.engine.labels import label_order
from fenji.policy.dimensions import (
    Band,
    BandsDimension,
    ClustersDimension,
    Cut,
    MatrixDimension,
    ParetoDimension,
    RfmDimension,
    RulesDimension,
    ScorecardDimension,
    StarsDimension,
)
from fenji.policy.models import Metric
from fenji.policy.models import Policy as PolicyModel
from fenji.policy.numbers import format_decimal


def _agg_names() -> dict[str, str]:
    return {
        "sum": _("sum"),
        "count": _("count"),
        "count_distinct": _("distinct count"),
        "avg": _("average"),
        "min": _("minimum"),
        "max": _("maximum"),
        "median": _("median"),
        "months": _("months with rows"),
        "days_since_last": _("days since the last row"),
        "days_since_first": _("days since the first row"),
    }


def _unit_names() -> dict[str, str]:
    return {
        "yuan": _("yuan"),
        "tonne": _("tonnes"),
        "year": _("years"),
        "day": _("days"),
        "month": _("months"),
        "count": _("count"),
        "ratio": _("ratio"),
        "percent": _("percent"),
        "points": _("points"),
    }


def _method_names() -> dict[str, str]:
    return {
        "bands": _("bands on a metric"),
        "rules": _("rules, first match wins"),
        "scorecard": _("scorecard"),
        "matrix": _("two-axis matrix"),
        "pareto": _("Pareto classes by cumulative share"),
        "rfm": _("RFM"),
        "stars": _("stars from a weighted composite"),
        "clusters": _("k-means clusters"),
    }


def number(value: Decimal, lang: str) -> str:
    """A bound as people write it: 100万 / 1.2亿 in Chinese, 1,000,000 in English."""
    if lang == "zh":
        for size, suffix in ((Decimal(100_000_000), "亿"), (Decimal(10_000), "万")):
            if abs(value) >= size:
                return format_decimal(value / size) + suffix
        return format_decimal(value)
    text = format_decimal(value)
    whole, _dot, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-')):,}"
    return sign + grouped + ("." + frac if frac else "")


def cut_text(cut: Cut, lang: str) -> str:
    """A cut point: a number, or the statistic of the population it is taken from."""
    if cut.value is not None:
        return number(cut.value, lang)
    if cut.stat == "percentile":
        text = _("percentile %(p)s") % {"p": format_decimal(cut.p or Decimal(0))}
    elif cut.stat == "mean":
        text = _("population mean")
    elif cut.stat == "median":
        text = _("population median")
    else:
        text = _("natural breaks: class %(c)s of %(k)s") % {"c": cut.class_, "k": cut.classes}
    if cut.where:
        text += " " + _("(where %(where)s)") % {"where": cut.where}
    return text


def band_text(band: Band, subject: str, lang: str) -> str:
    """``subject ≥ bound`` (min), ``subject > bound`` (above) or "otherwise" (catch-all)."""
    if band.min is not None:
        return f"{subject} ≥ {cut_text(band.min, lang)}"
    if band.above is not None:
        return f"{subject} > {cut_text(band.above, lang)}"
    return _("otherwise")


@dataclass(frozen=True)
class MetricInfo:
    name: str
    title: str
    measures: str
    unit: str


@dataclass(frozen=True)
class LabelInfo:
    """A label in tier order: rank 0 is the best tier."""

    label: str
    rank: int
    title: str
    rule: str
    strategy: str


@dataclass(frozen=True)
class DimensionInfo:
    name: str
    title: str
    method: str
    method_text: str
    basis: str
    labels: list[LabelInfo]
    first: list[tuple[str, str]] = field(default_factory=list)
    population: str = ""
    outside: str = ""
    downgrade_after: int | None = None


@dataclass(frozen=True)
class PolicySummary:
    title: str
    grain: str
    population: str
    revenue: str
    metrics: list[MetricInfo]
    dimensions: list[DimensionInfo]


def _metric_measures(metric: Metric, lang: str) -> str:
    kind = metric.kind
    if kind == "agg":
        agg = _agg_names()[metric.agg or "sum"]
        parts = [f"{agg}({metric.of})" if metric.of else agg]
        parts.append(_("from %(source)s") % {"source": metric.source})
        if metric.window is not None:
            parts.append(metric.window.describe(lang))
        if metric.where:
            parts.append(_("where %(where)s") % {"where": metric.where})
        return ("，" if lang == "zh" else ", ").join(parts)
    if kind == "attribute":
        return _("customer attribute %(name)s") % {"name": metric.attribute}
    if kind == "tenure":
        return _("years since %(name)s") % {"name": metric.tenure}
    if kind == "model":
        text = _("BG/NBD model of %(source)s: %(predict)s") % {
            "source": metric.source,
            "predict": metric.predict,
        }
        return text + (f", {metric.horizon}" if metric.horizon else "")
    return str(metric.expr)


def _title(text: Any, lang: str, default: str) -> str:
    return text.get(lang) if text is not None else default


def _add(rules: dict[str, str], label: str, text: str, *, first: bool = False) -> None:
    """Add one way a label is given; a label given in several ways lists them all."""
    if label not in rules:
        rules[label] = text
    elif text not in rules[label]:
        rules[label] = f"{text}; {rules[label]}" if first else f"{rules[label]}; {text}"


def _rules(spec: Any, lang: str, metric_title: Any) -> tuple[str, dict[str, str]]:
    """The basis of a dimension (what it looks at) and the rule of each label."""
    rules: dict[str, str] = {}
    if isinstance(spec, BandsDimension):
        subject = metric_title(spec.metric)
        for band in spec.bands:
            _add(rules, band.label, band_text(band, subject, lang))
        if spec.missing:
            _add(rules, spec.missing, _("no value"))
        return subject, rules
    if isinstance(spec, StarsDimension):
        parts = [f"{metric_title(c.metric)} × {format_decimal(c.weight)}" for c in spec.components]
        for band in spec.stars:
            _add(rules, band.label, band_text(band, _("composite"), lang))
        return _("percent ranks of %(parts)s") % {"parts": ", ".join(parts)}, rules
    if isinstance(spec, ScorecardDimension):
        for band in spec.grades:
            _add(rules, band.label, band_text(band, _("score"), lang))
        for red in spec.red_lines:
            _add(rules, red.label, _("red line: %(when)s") % {"when": red.when})
        names = ", ".join(_title(i.title, lang, i.name) for i in spec.items)
        return _("points of %(items)s") % {"items": names}, rules
    if isinstance(spec, ParetoDimension):
        for cls in spec.classes:
            _add(
                rules,
                cls.label,
                _("share before it < %(upto)s%%") % {"upto": format_decimal(cls.upto * 100)}
                if cls.upto is not None
                else _("the rest"),
            )
        return metric_title(spec.metric), rules
    if isinstance(spec, RulesDimension):
        for rule in spec.rules:
            _add(rules, rule.label, rule.when)
        if spec.default:
            _add(rules, spec.default, _("otherwise"))
        return _("rules"), rules
    if isinstance(spec, MatrixDimension):
        x, y = metric_title(spec.x.metric), metric_title(spec.y.metric)
        xc, yc = cut_text(spec.x.cut, lang), cut_text(spec.y.cut, lang)
        q = spec.quadrants
        for label, (hx, hy) in (
            (q.high_high, (True, True)),
            (q.high_low, (True, False)),
            (q.low_high, (False, True)),
            (q.low_low, (False, False)),
        ):
            _add(rules, label, f"{x} {'≥' if hx else '<'} {xc}, {y} {'≥' if hy else '<'} {yc}")
        return f"{x} × {y}", rules
    if isinstance(spec, RfmDimension):
        basis = ", ".join(metric_title(m) for m in (spec.recency, spec.frequency, spec.monetary))
        if spec.model == "cn8":
            for key, label in spec.classes.items():
                text = " ".join(
                    f"{axis}{'↑' if flag == 'h' else '↓'}"
                    for axis, flag in zip("RFM", key, strict=True)
                )
                _add(rules, label, text)
        for rule in spec.segments:
            _add(rules, rule.label, rule.when)
        if spec.default:
            _add(rules, spec.default, _("otherwise"))
        return basis, rules
    if isinstance(spec, ClustersDimension):
        low, high = spec.k_bounds
        for rank in range(1, high + 1):
            text = _("cluster %(rank)s by %(value)s") % {
                "rank": rank,
                "value": metric_title(spec.value),
            }
            _add(rules, spec.rank_label(rank), text)
        if spec.missing:
            _add(rules, spec.missing, _("no value"))
        basis = ", ".join(metric_title(m.metric) for m in spec.metrics)
        if low != high:
            basis += " " + _("(%(low)s to %(high)s clusters)") % {"low": low, "high": high}
        return basis, rules
    return "", rules  # pragma: no cover - every method is handled above


def describe_policy(policy: PolicyModel, lang: str) -> PolicySummary:
    """The policy's metrics and dimensions in words, labels in tier order (best first)."""

    def metric_title(name: str) -> str:
        metric = policy.metrics.get(name)
        return _title(metric.title, lang, name) if metric is not None else name

    units = _unit_names()
    metrics = [
        MetricInfo(
            name=name,
            title=_title(m.title, lang, name),
            measures=_metric_measures(m, lang),
            unit=units.get(m.unit, m.unit),
        )
        for name, m in policy.metrics.items()
    ]
    methods = _method_names()
    dimensions: list[DimensionInfo] = []
    for name, spec in policy.dimensions.items():
        basis, rules = _rules(spec, lang, metric_title)
        for rule in reversed(spec.first):  # applied before the method: listed first
            _add(rules, rule.label, _("forced: %(when)s") % {"when": rule.when}, first=True)
        if spec.outside:
            _add(rules, spec.outside, _("outside the population"))
        labels = []
        for rank, label in enumerate(label_order(spec)):
            info = spec.labels.get(label)
            labels.append(
                LabelInfo(
                    label=label,
                    rank=rank,
                    title=_title(info.title if info else None, lang, ""),
                    rule=rules.get(label, ""),
                    strategy=(info.strategy or "") if info else "",
                )
            )
        dimensions.append(
            DimensionInfo(
                name=name,
                title=_title(spec.title, lang, name),
                method=spec.method,
                method_text=methods.get(spec.method, spec.method),
                basis=basis,
                labels=labels,
                first=[(r.label, r.when) for r in spec.first],
                population=spec.population or "",
                outside=spec.outside or "",
                downgrade_after=spec.hysteresis.downgrade_after if spec.hysteresis else None,
            )
        )
    return PolicySummary(
        title=policy.title.get(lang),
        grain=policy.grain,
        population=policy.population or "",
        revenue=metric_title(policy.summary.revenue) if policy.summary.revenue else "",
        metrics=metrics,
        dimensions=dimensions,
    )
