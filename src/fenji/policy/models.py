"""The policy document as Pydantic models: sources, metrics, labels, strategies, dimensions.

A policy (评估标准) is a versioned, declarative YAML document. These models are the single
definition of its shape; :mod:`fenji.policy.validate` adds the checks that need the whole
document (unknown names, cycles, bounds in order) and maps every problem to a YAML line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from fenji.policy.base import Amount, Strict, Text
from fenji.policy.dimensions import Dimension

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]

Unit = Literal["yuan", "tonne", "year", "day", "month", "count", "ratio", "percent", "points", ""]
Agg = Literal[
    "sum",
    "count",
    "count_distinct",
    "avg",
    "min",
    "max",
    "median",
    "months",
    "days_since_last",
    "days_since_first",
]


#: What a model metric predicts (docs/METRICS.md, "Model metrics").
Prediction = Literal["p_alive", "expected_orders", "expected_spend", "clv"]

#: A model metric's horizon: a number and a unit, "90 days", "12 months", "39 weeks", "1 year".
HORIZON_PATTERN = re.compile(r"^\s*\d+(\.\d+)?\s*(day|week|month|year)s?\s*$")

_WINDOW_TEXT = re.compile(
    r"^\s*(?:(?P<all>all)|(?P<month>month)|(?:(?P<n>\d+)\s*(?P<cal>calendar\s+)?"
    r"(?P<unit>days?|months?|years?)))\s*$"
)


class Window(Strict):
    """Which fact rows count, relative to the as-of date D.

    ``last: 12 months`` is (D - 12 months, D]; ``offset: 12 months`` shifts it back, giving the
    window before; ``calendar_months: 3`` is the calendar month of D and the two before it;
    ``month`` is the calendar month of D; ``all`` is every row up to D. Rows after D never count.
    """

    kind: Literal["last", "calendar_months", "all"]
    n: int = 0
    unit: Literal["day", "month", "year"] = "month"
    offset_n: int = 0
    offset_unit: Literal["day", "month", "year"] = "month"

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _parse_window_text(value)
        if isinstance(value, dict) and "kind" not in value:
            data = dict(value)
            out: dict[str, Any] = {}
            if "last" in data:
                out.update(_parse_window_text(str(data.pop("last"))))
            elif "calendar_months" in data:
                out = {"kind": "calendar_months", "n": data.pop("calendar_months")}
            elif data.pop("all", None) is not None:
                out = {"kind": "all"}
            if "offset" in data:
                off = _parse_window_text(str(data.pop("offset")))
                if off.get("kind") != "last":
                    raise ValueError("offset must be a length such as '12 months'")
                out["offset_n"] = off["n"]
                out["offset_unit"] = off["unit"]
            if data:
                raise ValueError(f"unknown window keys: {', '.join(map(str, data))}")
            return out
        return value

    def describe(self, lang: str) -> str:
        units_zh = {"day": "天", "month": "个月", "year": "年"}
        if self.kind == "all":
            return "截至评估日" if lang == "zh" else "up to the as-of date"
        if self.kind == "calendar_months":
            if self.n == 1:
                return "评估日所在月" if lang == "zh" else "the as-of month"
            return f"近{self.n}个自然月" if lang == "zh" else f"the last {self.n} calendar months"
        text = (
            f"近{self.n}{units_zh[self.unit]}"
            if lang == "zh"
            else f"the last {self.n} {self.unit}{'s' if self.n != 1 else ''}"
        )
        if self.offset_n:
            text += (
                f"(前推{self.offset_n}{units_zh[self.offset_unit]})"
                if lang == "zh"
                else f" ending {self.offset_n} {self.offset_unit}(s) earlier"
            )
        return text


def _parse_window_text(text: str) -> dict[str, Any]:
    m = _WINDOW_TEXT.match(text.lower())
    if not m:
        raise ValueError(
            f"window '{text}' is not understood; write '12 months', '90 days', '3 years', "
            "'month', '3 calendar months' or 'all'"
        )
    if m.group("all"):
        return {"kind": "all"}
    if m.group("month"):
        return {"kind": "calendar_months", "n": 1}
    n = int(m.group("n"))
    unit = m.group("unit").rstrip("s")
    if m.group("cal"):
        if unit != "month":
            raise ValueError("calendar windows are counted in months: '3 calendar months'")
        return {"kind": "calendar_months", "n": n}
    return {"kind": "last", "n": n, "unit": unit}


class Metric(Strict):
    """A per-customer (or per customer and line) figure.

    Exactly one of: an aggregation over a fact table (``agg`` + ``source``), a customer
    attribute (``attribute``), a tenure in calendar years (``tenure``), a derived expression
    (``expr``) over other metrics, which may use population functions (share, pct_rank, tile...),
    or a model prediction (``model`` + ``predict`` + ``source``): P(alive), expected orders over
    a horizon, expected spend or CLV, from models fitted on the orders at the as-of date.
    """

    title: Text | None = None
    unit: Unit = ""
    agg: Agg | None = None
    source: Name | None = Field(default=None, alias="from")
    of: str | None = None
    where: str | None = None
    window: Window | None = None
    default: Amount | None = None
    attribute: Name | None = None
    tenure: Name | None = None
    expr: str | None = None
    model: Literal["bgnbd"] | None = None
    predict: Prediction | None = None
    time_unit: Literal["day", "week"] | None = None
    horizon: str | None = None
    discount_rate: Amount | None = None
    margin: Amount | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Metric:
        kinds = [
            k
            for k, v in (
                ("agg", self.agg),
                ("attribute", self.attribute),
                ("tenure", self.tenure),
                ("expr", self.expr),
                ("model", self.model),
            )
            if v is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "a metric is exactly one of: an aggregation (agg + from), an attribute, "
                f"a tenure, an expr or a model; found {', '.join(kinds) or 'none'}"
            )
        if self.agg is not None and self.source is None:
            raise ValueError("an aggregation needs 'from': the fact table it reads")
        if self.agg not in (None, "count", "months", "days_since_last", "days_since_first") and (
            self.of is None
        ):
            raise ValueError(f"agg '{self.agg}' needs 'of': the column or expression it reads")
        if self.agg is None and (self.where or self.window or self.of):
            raise ValueError("of/where/window belong to aggregations (agg)")
        if self.agg is None and self.model is None and self.source:
            raise ValueError("'from' belongs to aggregations (agg) and models")
        model_keys = ("predict", "time_unit", "horizon", "discount_rate", "margin")
        if self.model is None:
            given = [k for k in model_keys if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{'/'.join(given)} belong to model metrics (model: bgnbd)")
            return self
        return self._model_checks()

    def _model_checks(self) -> Metric:
        if self.source is None:
            raise ValueError("a model metric needs 'from': the orders it is fitted on")
        if self.predict is None:
            raise ValueError(
                "a model metric needs 'predict': p_alive, expected_orders, expected_spend or clv"
            )
        over_time = self.predict in ("expected_orders", "clv")
        if over_time and self.horizon is None:
            raise ValueError(
                f"predict: {self.predict} needs a horizon such as '90 days' or '12 months'"
            )
        if not over_time and self.horizon is not None:
            raise ValueError(
                f"predict: {self.predict} is taken at the as-of date; remove 'horizon'"
            )
        if self.horizon is not None and not HORIZON_PATTERN.match(self.horizon.lower()):
            raise ValueError(
                f"horizon '{self.horizon}' is not understood; write '90 days', '39 weeks', "
                "'12 months' or '1 year'"
            )
        if self.predict != "clv" and (self.discount_rate is not None or self.margin is not None):
            raise ValueError("discount_rate and margin belong to predict: clv")
        if self.discount_rate is not None and not self.discount_rate > -1:
            raise ValueError("discount_rate is per month and must be above -1 (0.01 is 1%)")
        if self.margin is not None and self.margin < 0:
            raise ValueError("margin is the share of spend that is value and cannot be negative")
        return self

    @property
    def kind(self) -> Literal["agg", "attribute", "tenure", "expr", "model"]:
        if self.agg is not None:
            return "agg"
        if self.attribute is not None:
            return "attribute"
        if self.tenure is not None:
            return "tenure"
        if self.model is not None:
            return "model"
        return "expr"


class SourceDecl(Strict):
    """A further fact table a policy reads, beyond the built-in ones."""

    title: Text | None = None
    date_column: Name
    columns: dict[Name, Literal["string", "date", "decimal", "integer", "boolean", "month"]]
    has_business_line: bool = False


class Strategy(Strict):
    """What a label means for service: level, owner, cadence, channels, benefits, actions."""

    title: Text | None = None
    service_level: str | None = None
    owner_role: str | None = None
    visit_every_days: int | None = Field(default=None, ge=1)
    channels: list[str] = Field(default_factory=list)
    benefits: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)


class Summary(Strict):
    """Which metric is "revenue" for the per-label revenue share and the Pareto figures (S8)."""

    revenue: Name | None = None


class Policy(Strict):
    """A whole policy document (``fenji: 1``)."""

    fenji: Literal[1] = 1
    name: Name
    version: int = Field(default=1, ge=1)
    title: Text
    description: Text | None = None
    grain: Literal["customer", "customer_line"] = "customer"
    population: str | None = None
    sources: dict[Name, SourceDecl] = Field(default_factory=dict)
    metrics: dict[Name, Metric] = Field(default_factory=dict)
    dimensions: dict[Name, Dimension]
    strategies: dict[Name, Strategy] = Field(default_factory=dict)
    summary: Summary = Field(default_factory=Summary)

    @field_validator("dimensions")
    @classmethod
    def _at_least_one(cls, value: dict[str, Dimension]) -> dict[str, Dimension]:
        if not value:
            raise ValueError("a policy needs at least one dimension")
        return value

    @property
    def key_columns(self) -> tuple[str, ...]:
        if self.grain == "customer_line":
            return ("customer_id", "business_line")
        return ("customer_id",)

    def sources_read(self) -> tuple[str, ...]:
        """Names of the tables an evaluation reads: ``customers`` (always, when present: it
        lists the customers to grade and their attributes) and every fact table a metric reads."""
        facts = sorted({m.source for m in self.metrics.values() if m.source is not None})
        return ("customers", *facts)

    def to_data(self) -> dict[str, Any]:
        """Plain data (for YAML) that loads back to an equal policy."""
        return self.model_dump(mode="python", by_alias=True, exclude_defaults=True)
