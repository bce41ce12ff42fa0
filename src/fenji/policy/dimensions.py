"""Dimension specifications, one model per grading method.

Each method (bands, rules, scorecard, matrix, pareto, rfm, stars, clusters) has its own spec
here and its own compiler in ``fenji.engine.methods``. Shared parts — forced ``first`` rules, a
``population`` and the ``outside`` label, display names and strategies per label — live on
:class:`DimensionBase`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from fenji.policy.base import Amount, Strict, Text

LabelName = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]


class Cut(Strict):
    """A cut point: an absolute value (``100万``) or a statistic of the population at the as-of
    date (``{percentile: 80}``, ``mean``, ``median``, or ``{natural_breaks: 4, class: 1}``: the
    lowest value of the highest of 4 natural-breaks classes), optionally over a filtered
    population (``{median: true, where: "sales_12m > 0"}``). The explanation shows the value
    used.

    Natural breaks are computed by a pre-pass before the policy's query is compiled
    (:mod:`fenji.engine.prepass`); the value found is kept on the cut of a copy of the policy
    (:attr:`resolved`), never in the YAML, so the policy as written is unchanged."""

    value: Amount | None = None
    stat: Literal["percentile", "mean", "median", "natural_breaks"] | None = None
    p: Amount | None = Field(default=None, ge=0, le=100)
    #: Natural breaks: how many classes the population is split into, and which class's lowest
    #: value is the cut, counted from the highest class (1).
    classes: int | None = None
    class_: int | None = Field(default=None, alias="class")
    where: str | None = None

    _resolved: bool = PrivateAttr(default=False)
    _break: Decimal | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("mean", "median"):
            return {"stat": value.strip().lower()}
        if not isinstance(value, dict):
            return {"value": value}
        data = dict(value)
        if "stat" in data or "value" in data:
            return data
        if "percentile" in data:
            data["stat"] = "percentile"
            data["p"] = data.pop("percentile")
        if "natural_breaks" in data:
            k = data.pop("natural_breaks")
            if isinstance(k, bool) or not isinstance(k, int):
                raise ValueError(
                    f"write the number of classes, e.g. {{natural_breaks: 4, class: 1}}; got {k!r}"
                )
            data["stat"] = "natural_breaks"
            data["classes"] = k
        for stat in ("mean", "median"):
            if stat in data:
                flag = data.pop(stat)
                if flag is not True:
                    raise ValueError(f"write '{stat}: true'")
                data["stat"] = stat
        return data

    @model_validator(mode="after")
    def _one(self) -> Cut:
        if (self.value is None) == (self.stat is None):
            raise ValueError(
                "a cut is a number or one statistic (percentile, mean, median, natural_breaks)"
            )
        if self.stat == "percentile" and self.p is None:
            raise ValueError("a percentile cut needs the percentile, e.g. {percentile: 80}")
        if self.stat == "natural_breaks":
            if self.classes is None or self.class_ is None:
                raise ValueError(
                    "a natural-breaks cut needs the number of classes and the class whose "
                    "lowest value it is, e.g. {natural_breaks: 4, class: 1} (1 = highest class)"
                )
        elif self.classes is not None or self.class_ is not None:
            raise ValueError(
                "'class' applies to natural breaks, e.g. {natural_breaks: 4, class: 1}"
            )
        if self.value is not None and self.where is not None:
            raise ValueError("'where' applies to statistics, not to a fixed value")
        return self

    @property
    def resolved(self) -> bool:
        """True once a pre-pass has fixed the value of this natural-breaks cut."""
        return self._resolved

    @property
    def break_value(self) -> Decimal | None:
        """The natural-breaks value found by the pre-pass; None when the population has fewer
        classes than asked for (or no values), in which case no value meets the cut."""
        return self._break

    def resolve(self, value: Decimal | None) -> None:
        """Fix the value of a natural-breaks cut; called only by the pre-pass, on its own copy
        of the policy, before that copy is handed out."""
        if self.stat != "natural_breaks":
            raise ValueError("only natural-breaks cuts are resolved by a pre-pass")
        self._resolved = True
        self._break = value

    def clear_resolution(self) -> None:
        """Forget a value found earlier, so that a copy of a resolved policy is resolved anew
        over new data rather than keeping values taken from other data."""
        self._resolved = False
        self._break = None


class Rule(Strict):
    """Give ``label`` when the condition ``when`` holds; rules are tried in order."""

    label: LabelName
    when: str
    title: Text | None = None


class LabelInfo(Strict):
    """How a label is shown and served: display name and the key of its strategy."""

    title: Text | None = None
    strategy: str | None = None


class Hysteresis(Strict):
    """Damping of downgrades between evaluation runs, so that a grade does not flap.

    A downgrade takes effect only once ``downgrade_after`` consecutive runs have computed a
    lower label than the one held; an upgrade takes effect at once. It is applied by the
    system of record across runs, never by one evaluation (which has no history)."""

    downgrade_after: int

    @field_validator("downgrade_after")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                f"downgrade_after is how many consecutive runs must compute a lower label "
                f"before a downgrade takes effect: 1 or more (1 = at once); got {value}"
            )
        return value


class DimensionBase(Strict):
    title: Text | None = None
    labels: dict[LabelName, LabelInfo] = Field(default_factory=dict)
    first: list[Rule] = Field(default_factory=list)
    population: str | None = None
    outside: LabelName | None = None
    hysteresis: Hysteresis | None = None


class Band(Strict):
    """One band: the label and its lower bound, inclusive (``min``) or exclusive (``above``).

    Bands are listed from the best label down; the first whose bound the value meets decides.
    A band with no bound is the catch-all and must come last."""

    label: LabelName
    min: Cut | None = None
    above: Cut | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Band:
        if self.min is not None and self.above is not None:
            raise ValueError("a band has 'min' (inclusive) or 'above' (exclusive), not both")
        return self

    @property
    def bound(self) -> Cut | None:
        return self.min if self.min is not None else self.above

    @property
    def inclusive(self) -> bool:
        return self.min is not None


class BandsDimension(DimensionBase):
    method: Literal["bands"]
    metric: str
    bands: list[Band] = Field(min_length=1)
    missing: LabelName | None = None


class RulesDimension(DimensionBase):
    method: Literal["rules"]
    rules: list[Rule] = Field(min_length=1)
    default: LabelName | None = None


class PointBand(Strict):
    points: Amount
    min: Cut | None = None
    above: Cut | None = None


class ScoreItem(Strict):
    """A weighted scorecard item: points from another dimension's label (``dimension`` +
    ``points``), from an expression (``value``), or from a metric cut into point bands."""

    name: str
    title: Text | None = None
    weight: Amount = Decimal(1)
    dimension: str | None = None
    points: dict[LabelName, Amount] | None = None
    value: str | None = None
    metric: str | None = None
    bands: list[PointBand] | None = None
    max_points: Amount | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ScoreItem:
        kinds = sum([self.dimension is not None, self.value is not None, self.metric is not None])
        if kinds != 1:
            raise ValueError("an item takes its points from one of: dimension, value, metric")
        if self.dimension is not None and not self.points:
            raise ValueError("an item over a dimension needs 'points' per label, e.g. {A: 4}")
        if self.metric is not None and not self.bands:
            raise ValueError("an item over a metric needs point 'bands'")
        return self


class Adjustment(Strict):
    """A bonus or deduction: fixed ``points`` when ``when`` holds, or the value of ``value``."""

    name: str
    title: Text | None = None
    when: str | None = None
    points: Amount | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Adjustment:
        if (self.value is None) == (self.points is None):
            raise ValueError("give 'points' (with 'when') or a 'value' expression")
        if self.points is not None and self.when is None:
            raise ValueError("fixed points need a condition 'when'")
        return self


class RedLine(Strict):
    """A veto: when ``when`` holds the label is ``label`` whatever the score (红线)."""

    name: str
    title: Text | None = None
    when: str
    label: LabelName


class ScorecardDimension(DimensionBase):
    method: Literal["scorecard"]
    items: list[ScoreItem] = Field(min_length=1)
    bonus: list[Adjustment] = Field(default_factory=list)
    deductions: list[Adjustment] = Field(default_factory=list)
    red_lines: list[RedLine] = Field(default_factory=list)
    grades: list[Band] = Field(min_length=1)
    decimals: int = Field(default=2, ge=0, le=6)


class Axis(Strict):
    """One side of a matrix: a metric and the cut at or above which it is "high"."""

    metric: str
    cut: Cut
    title: Text | None = None


class Quadrants(Strict):
    high_high: LabelName
    high_low: LabelName
    low_high: LabelName
    low_low: LabelName


class MatrixDimension(DimensionBase):
    method: Literal["matrix"]
    x: Axis
    y: Axis
    quadrants: Quadrants


class ParetoClass(Strict):
    """A class while the share of the customers ranked before is below ``upto`` (0-1)."""

    label: LabelName
    upto: Amount | None = Field(default=None, gt=0, le=1)


class ParetoDimension(DimensionBase):
    method: Literal["pareto"]
    metric: str
    classes: list[ParetoClass] = Field(min_length=2)


_CN8_DEFAULT: dict[str, str] = {
    "hhh": "important_value",
    "hlh": "important_development",
    "lhh": "important_retention",
    "llh": "important_winback",
    "hhl": "general_value",
    "hll": "general_development",
    "lhl": "general_retention",
    "lll": "general_winback",
}


class RfmDimension(DimensionBase):
    """RFM: ``cn8`` (high/low against the population mean, eight classes) or ``quintile``
    (1-5 scores by NTILE(5), named segments as rules over ``r``, ``f``, ``m``)."""

    method: Literal["rfm"]
    model: Literal["cn8", "quintile"]
    recency: str
    frequency: str
    monetary: str
    compare: Literal["mean", "median"] = "mean"
    classes: dict[str, LabelName] = Field(default_factory=lambda: dict(_CN8_DEFAULT))
    segments: list[Rule] = Field(default_factory=list)
    default: LabelName | None = None

    @model_validator(mode="after")
    def _classes(self) -> RfmDimension:
        if self.model == "cn8":
            missing = set(_CN8_DEFAULT) - set(self.classes)
            extra = set(self.classes) - set(_CN8_DEFAULT)
            if missing or extra:
                raise ValueError(
                    "cn8 classes are keyed by R, F, M high (h) or low (l), e.g. 'hhh'; "
                    f"missing {sorted(missing)}, unknown {sorted(extra)}"
                )
        if self.model == "quintile" and not self.segments:
            raise ValueError("the quintile model needs 'segments': rules over r, f and m")
        return self


class StarComponent(Strict):
    metric: str
    weight: Amount = Field(gt=0)


class StarsDimension(DimensionBase):
    """Stars from a weighted composite of percent ranks (0-1) of the components."""

    method: Literal["stars"]
    components: list[StarComponent] = Field(min_length=1)
    stars: list[Band] = Field(min_length=2)


class ClusterMetric(Strict):
    """One metric k-means clusters on; ``log`` takes log(1 + x) first (for money, whose
    spread would otherwise let a few large customers decide the clusters)."""

    metric: str
    log: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"metric": value}
        return value


class ClustersDimension(DimensionBase):
    """K-means clusters of the graded customers over standardised metrics, ranked by the mean
    of ``value`` (label "1" = highest, or ``names[0]``). ``k`` fixes the number of clusters;
    without it the best silhouette within ``k_range`` decides. Fitted by a pre-pass
    (:mod:`fenji.engine.clusters`); the same data and ``seed`` always give the same clusters.
    Customers with a missing metric are not clustered and get ``missing`` (or no label)."""

    method: Literal["clusters"]
    metrics: list[ClusterMetric] = Field(min_length=1)
    value: str
    k: int | None = None
    k_range: list[int] | None = None
    names: list[LabelName] = Field(default_factory=list)
    missing: LabelName | None = None
    seed: int = 0

    @property
    def k_bounds(self) -> tuple[int, int]:
        """The smallest and largest number of clusters tried."""
        if self.k is not None:
            return self.k, self.k
        if self.k_range is not None and len(self.k_range) == 2:
            return self.k_range[0], self.k_range[1]
        return 2, 8

    def rank_label(self, rank: int) -> str:
        """The label of the cluster ranked ``rank`` (1 = highest value)."""
        return self.names[rank - 1] if rank <= len(self.names) else str(rank)


Dimension = Annotated[
    BandsDimension
    | RulesDimension
    | ScorecardDimension
    | MatrixDimension
    | ParetoDimension
    | RfmDimension
    | StarsDimension
    | ClustersDimension,
    Field(discriminator="method"),
]
