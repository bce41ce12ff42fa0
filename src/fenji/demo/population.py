"""The customer base of the demo: who the customers are and how each one behaves.

Every customer gets, once and for the whole run, the parameters that drive its facts: an
annual value (log-normal, so that a fifth of the customers make about three quarters of the
revenue, as the 二八法则 of the seed documents says), an order rate that grows with value, an
active window (new customers start inside the period, some customers stop ordering), the
business lines it buys, its share of direct deliveries, price per tonne, growth, and credit and
payment habits. Facts are then drawn shard by shard from these arrays (``fenji.demo.facts``),
so a customer behaves the same however the work is cut.

Dates are handled as int32 day numbers (days since 1970-01-01) throughout: vectorised, exact,
and what Arrow's date32 stores.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import numpy as np

from fenji.demo import vocabulary as vocab

_EPOCH = date(1970, 1, 1)

#: Median annual revenue of a fully active customer, in yuan. With the spread below about a
#: fifth of the customers reach S1's sales grade A (>= 1,000,000) and two fifths are D.
VALUE_MEDIAN = 250_000.0
#: Spread of log annual value. Together with churn and order noise it puts the top 20% of
#: customers at roughly 75% of trailing-12-month revenue.
VALUE_SIGMA = 1.45
#: Share of customers that are prospects: in the CRM, no deal yet, no first-deal date.
PROSPECT_SHARE = 0.03
#: Share of blank influence: the attribute is often not filled in.
BLANK_INFLUENCE_SHARE = 0.05
#: Typical price per tonne for each business line (dairy is bulky, snacks are dearer).
PRICE_PER_TONNE = (8_500.0, 21_000.0)
#: Credit terms in days for customers that buy on account (月结); the rest pay cash.
CREDIT_TERMS = (30, 45, 60)

GOOD_PAYER, SLOW_PAYER, BAD_PAYER = 0, 1, 2


def epoch_day(d: date) -> int:
    """Days since 1970-01-01, the representation of every date in the generator."""
    return (d - _EPOCH).days


def add_months(d: date, months: int) -> date:
    """``d`` moved by calendar months, the day clamped to the month's end (31 Mar - 1 = 28 Feb)."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


@dataclass(frozen=True)
class Period:
    """The generated period ``(as_of - months, as_of]`` and its seasonal order intensity.

    ``cum`` is the running sum of the daily weights (length ``days + 1``), so the expected
    share of a customer's orders between two days is a difference of two entries, and a day
    can be drawn by inverting it with ``searchsorted``.
    """

    start: int
    as_of: int
    cum: np.ndarray
    weights: np.ndarray

    @property
    def days(self) -> int:
        return self.as_of - self.start + 1

    @property
    def mass_per_year(self) -> float:
        """Average weight of 365.25 days, to turn a window's weight into years of business."""
        return float(self.cum[-1]) / self.days * 365.25

    @staticmethod
    def build(as_of: date, months: int) -> Period:
        if months < 1:
            raise ValueError(f"months must be at least 1, got {months}")
        start = epoch_day(add_months(as_of, -months)) + 1
        end = epoch_day(as_of)
        days = np.arange(start, end + 1, dtype=np.int64)
        month_of_year = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        weights = (
            np.asarray(vocab.MONTH_FACTORS)[month_of_year]
            * np.asarray(vocab.WEEKDAY_FACTORS)[weekday]
        )
        cum = np.concatenate([[0.0], np.cumsum(weights)])
        return Period(start=start, as_of=end, cum=cum, weights=weights)

    def mass(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Weight of the days ``first..last`` (period indices, inclusive); 0 when empty."""
        return np.where(last >= first, self.cum[last + 1] - self.cum[np.minimum(first, last)], 0)


@dataclass(frozen=True)
class Population:
    """Per-customer parameters, one array entry per customer (index = customer number - 1)."""

    ids_width: int
    names: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    scale: np.ndarray
    owner: np.ndarray
    influence: np.ndarray  # index into vocab.INFLUENCES, -1 = blank
    first_deal: np.ndarray  # epoch day; meaningless where prospect
    prospect: np.ndarray  # bool: no deal yet, never orders
    value: np.ndarray  # annual revenue when fully active, yuan
    rate: np.ndarray  # relative order frequency
    active_first: np.ndarray  # first period index with business
    active_last: np.ndarray  # last period index with business (< days - 1 when churned)
    p_dairy: np.ndarray  # share of orders in 乳品; the rest are 休闲
    direct: np.ndarray  # share of orders delivered directly
    price: np.ndarray  # (n, 2) price per tonne per business line
    growth: np.ndarray  # yearly log growth of order size
    credit_terms: np.ndarray  # days; 0 = pays cash, no receivables
    payer: np.ndarray  # GOOD_PAYER / SLOW_PAYER / BAD_PAYER

    @property
    def size(self) -> int:
        return int(self.value.size)

    def order_weight(self, period: Period) -> np.ndarray:
        """Expected relative number of orders per customer over the whole period."""
        mass = period.mass(self.active_first, self.active_last)
        return np.where(self.prospect, 0.0, self.rate * mass)


def _partner_regions() -> np.ndarray:
    """For each province, the next province of its sales region (大区), whose rep helps out."""
    index = {name: i for i, (name, _, _) in enumerate(vocab.REGIONS)}
    partner = np.arange(len(vocab.REGIONS))
    for _, _, provinces in vocab.TEAMS:
        for k, province in enumerate(provinces):
            partner[index[province]] = index[provinces[(k + 1) % len(provinces)]]
    return partner


def _choice(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.size, size=n, p=p / p.sum()).astype(np.int16)


def _names(rng: np.random.Generator, industry: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Company names: [city] + surname + two-character trade name + a suffix fitting the
    industry, e.g. 苏州陈祥恒商贸有限公司 or 罗盛泰实业有限公司."""
    n = industry.size
    surnames = np.asarray(vocab.SURNAMES)
    # Founders' surnames are far from uniform: weight them by rank.
    surname = rng.choice(surnames.size, size=n, p=_rank_weights(surnames.size))
    chars = np.asarray(vocab.TRADE_NAME_CHARS)
    first = rng.integers(0, chars.size, size=n)
    second = (first + 1 + rng.integers(0, chars.size - 1, size=n)) % chars.size
    suffixes, suffix_index = _flatten([s for _, _, s in vocab.INDUSTRIES], industry, rng)
    cities, city_index = _flatten([c for _, _, c in vocab.REGIONS], region, rng)
    prefix = np.where(rng.random(n) < 0.35, cities[city_index], "")
    name = np.char.add(prefix, surnames[surname])
    name = np.char.add(name, chars[first])
    name = np.char.add(name, chars[second])
    return np.char.add(name, suffixes[suffix_index])


def _rank_weights(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** 0.6
    return w / w.sum()


def _flatten(
    groups: list[tuple[str, ...]], group: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick one word uniformly from ``groups[group[i]]`` for every row, vectorised."""
    flat = np.asarray([w for g in groups for w in g])
    counts = np.asarray([len(g) for g in groups])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = offsets[group] + (rng.random(group.size) * counts[group]).astype(np.int64)
    return flat, pick


def draw_population(n: int, period: Period, rng: np.random.Generator) -> Population:
    """Draw ``n`` customers. Attributes are correlated the way a sales team would expect:
    big customers are larger companies, more often 行业龙头 or 知名品牌, order more often,
    take more direct deliveries and churn less; recent customers are 新进入企业."""
    if n < 1:
        raise ValueError(f"customers must be at least 1, got {n}")
    z = rng.standard_normal(n)
    value = VALUE_MEDIAN * np.exp(VALUE_SIGMA * z)
    percentile = (np.argsort(np.argsort(z)) + 0.5) / n

    industry = _choice(rng, n, [w for _, w, _ in vocab.INDUSTRIES])
    region = _choice(rng, n, [w for _, w, _ in vocab.REGIONS])
    names = _names(rng, industry, region)
    size_score = percentile + rng.normal(0, 0.12, n)
    scale = np.select([size_score > 0.85, size_score > 0.5], [0, 1], 2).astype(np.int16)
    # Each rep looks after one province and helps out in a neighbour of the same 大区.
    helps = rng.random(n) < 0.3
    owner = np.where(helps, _partner_regions()[region], region).astype(np.int16)

    # First deal: some within the last year, some within the period, most 2.5-10 years ago.
    bucket = rng.choice(3, size=n, p=[0.12, 0.10, 0.78])
    low = np.array([0, 365, 913])[bucket]
    high = np.array([365, 913, 3652])[bucket]
    days_ago = low + (rng.random(n) * (high - low)).astype(np.int64)
    first_deal = (period.as_of - days_ago).astype(np.int32)
    prospect = rng.random(n) < PROSPECT_SHARE

    standing = percentile + rng.normal(0, 0.08, n)
    influence = np.select([standing > 0.97, standing > 0.90, standing > 0.62], [0, 1, 2], 3).astype(
        np.int16
    )
    newcomer = (days_ago < 730) & (influence >= 2) & (rng.random(n) < 0.7)
    influence[newcomer | prospect] = 4
    influence[rng.random(n) < BLANK_INFLUENCE_SHARE] = -1

    # Active window in period indices: from the first deal (or the period start) to the
    # day the customer stops ordering; smaller customers churn more often.
    active_first = np.clip(first_deal - period.start, 0, period.days - 1).astype(np.int32)
    churn_p = np.clip(0.16 - 0.05 * z, 0.03, 0.35)
    churned = rng.random(n) < churn_p
    span = period.days - 1 - active_first
    churn_at = active_first + (rng.random(n) * (span + 1)).astype(np.int32)
    active_last = np.where(churned, churn_at, period.days - 1).astype(np.int32)

    rate = np.exp(0.45 * z + rng.normal(0, 0.35, n))
    line_kind = rng.choice(3, size=n, p=[0.5, 0.2, 0.3])  # dairy only, snacks only, both
    p_dairy = np.select([line_kind == 0, line_kind == 1], [1.0, 0.0], rng.uniform(0.3, 0.8, n))
    direct = 1.0 / (1.0 + np.exp(-(-0.4 + 0.6 * z + rng.normal(0, 0.8, n))))
    price = np.asarray(PRICE_PER_TONNE) * np.exp(rng.normal(0, 0.15, (n, 2)))
    growth = rng.normal(0.04, 0.2, n)

    on_credit = rng.random(n) < np.clip(0.25 + 0.3 * percentile, 0, 1)
    terms = np.asarray(CREDIT_TERMS)[rng.integers(0, len(CREDIT_TERMS), n)]
    credit_terms = np.where(on_credit, terms, 0).astype(np.int32)
    payer = rng.choice(3, size=n, p=[0.75, 0.20, 0.05]).astype(np.int8)

    return Population(
        ids_width=max(5, len(str(n))),
        names=names,
        industry=industry,
        region=region,
        scale=scale,
        owner=owner,
        influence=influence,
        first_deal=first_deal,
        prospect=prospect,
        value=value,
        rate=rate,
        active_first=active_first,
        active_last=active_last,
        p_dairy=p_dairy,
        direct=direct,
        price=price,
        growth=growth,
        credit_terms=credit_terms,
        payer=payer,
    )
