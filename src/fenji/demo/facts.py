"""Facts of one shard of customers: orders, receivables, monthly targets and score events.

A shard is a fixed range of customers with its own random stream, so the facts of a customer
depend only on the seed, the sizes and the customer, never on how many rows are written at a
time. Everything is vectorised over the shard's rows: no Python loop runs per order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fenji.demo import vocabulary as vocab
from fenji.demo.population import (
    BAD_PAYER,
    GOOD_PAYER,
    SLOW_PAYER,
    Period,
    Population,
    add_months,
    epoch_day,
)
from fenji.demo.tables import (
    UNITS,
    canonical_schema,
    date_array,
    decimal_array,
    fixed_width_ids,
    take_strings,
)

#: Share of order rows that are returns (退货): negative amount and quantity.
RETURN_SHARE = 0.015
#: Smallest order and smallest return in cents: nobody ships 3 yuan of milk.
MIN_ORDER_CENTS = 50_00
MIN_RETURN_CENTS = 10_00
#: Months, ending with the as-of month, for which sales reps have set monthly targets.
TARGET_MONTHS = 6
#: Expected score events per customer and month of activity: they are rare.
EVENTS_PER_MONTH = 0.02
#: Per payer kind (good, slow, bad): probability an invoice is paid on time, paid late, or
#: never paid; and the mean delay in days of a late payment.
_PAYMENT_P = {
    GOOD_PAYER: (0.95, 0.05, 0.00),
    SLOW_PAYER: (0.60, 0.395, 0.005),
    BAD_PAYER: (0.35, 0.50, 0.15),
}
_LATE_MEAN_DAYS = {GOOD_PAYER: 8.0, SLOW_PAYER: 25.0, BAD_PAYER: 45.0}
#: A churned customer often leaves its last invoices unpaid (bad debt).
_CHURN_UNPAID_P = 0.3
_CHURN_UNPAID_WINDOW = 45


@dataclass
class IdCursor:
    """Next number and fixed width of each identifier sequence, shared across shards."""

    width: int
    next: int = 1

    def take(self, prefix: str, count: int) -> pa.Array:
        ids = fixed_width_ids(prefix, self.next, count, self.width)
        self.next += count
        return ids


@dataclass
class ShardContext:
    """What every shard needs: the population, the period and the per-customer counts."""

    population: Population
    period: Period
    order_counts: np.ndarray
    event_counts: np.ndarray
    customer_ids: pa.Array
    orders: IdCursor
    invoices: IdCursor
    events: IdCursor


def draw_event_counts(pop: Population, period: Period, rng: np.random.Generator) -> np.ndarray:
    """Score events per customer: a Poisson count over its months of activity."""
    active_days = np.maximum(pop.active_last - pop.active_first + 1, 0)
    lam = np.where(pop.prospect, 0.0, EVENTS_PER_MONTH * active_days / 30.44)
    return rng.poisson(lam).astype(np.int64)


def shard_facts(
    ctx: ShardContext, lo: int, hi: int, rng: np.random.Generator
) -> dict[str, pa.Table]:
    """Orders, receivables, targets and score events of customers ``lo .. hi-1``."""
    orders, order_rows = _orders(ctx, lo, hi, rng)
    return {
        "orders": orders,
        "receivables": _receivables(ctx, order_rows, rng),
        "targets": _targets(ctx, lo, hi, rng),
        "score_events": _events(ctx, lo, hi, rng),
    }


@dataclass
class _OrderRows:
    customer: np.ndarray
    day: np.ndarray  # period index
    line: np.ndarray
    cents: np.ndarray
    is_return: np.ndarray


def _sorted_days(
    counts: np.ndarray, days: np.ndarray, period_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row -> local customer, and the drawn days sorted within each customer.

    Rows come grouped by customer (``np.repeat``), so sorting ``customer * days + day`` sorts
    the days inside each group without moving any row to another customer.
    """
    local = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    key = np.sort(local * period_days + days)
    return local, key - local * period_days


def _orders(
    ctx: ShardContext, lo: int, hi: int, rng: np.random.Generator
) -> tuple[pa.Table, _OrderRows]:
    pop, period = ctx.population, ctx.period
    counts = ctx.order_counts[lo:hi]
    total = int(counts.sum())
    first = pop.active_first[lo:hi]
    last = pop.active_last[lo:hi]

    # Days follow the seasonal intensity inside each customer's active window: draw a point
    # of the cumulative weight between the window's ends and invert it.
    row_first = np.repeat(first, counts)
    row_last = np.repeat(last, counts)
    lo_mass = period.cum[row_first]
    u = lo_mass + rng.random(total) * (period.cum[row_last + 1] - lo_mass)
    drawn = np.clip(np.searchsorted(period.cum, u, side="right") - 1, row_first, row_last)
    local, day = _sorted_days(counts, drawn, period.days)
    # A customer won inside the period places its first order on its first-deal date.
    starts = np.cumsum(counts) - counts
    new_in_period = (counts > 0) & (pop.first_deal[lo:hi] >= period.start)
    day[starts[new_in_period]] = first[new_in_period]
    customer = local + lo

    is_return = rng.random(total) < RETURN_SHARE
    is_return[starts[counts > 0]] = False  # a first order is never a return
    # Mean order size so that a customer's yearly revenue is its value whatever its count.
    years = period.mass(first, last) / period.mass_per_year
    size = pop.value[lo:hi] * years / np.maximum(counts, 1)
    row_size = size[local]
    noise = np.exp(0.5 * rng.standard_normal(total) - 0.125)
    trend = np.exp(pop.growth[customer] * (day - (period.days - 183)) / 365.25)
    back = rng.uniform(0.05, 0.3, total)
    amount = np.where(is_return, -row_size * back, row_size * noise * trend)
    cents = np.rint(amount * 100).astype(np.int64)
    cents = np.where(
        is_return, np.minimum(cents, -MIN_RETURN_CENTS), np.maximum(cents, MIN_ORDER_CENTS)
    )

    line = (rng.random(total) >= pop.p_dairy[customer]).astype(np.int8)
    channel = (rng.random(total) >= pop.direct[customer]).astype(np.int8)
    # Tonnes follow the amount at the customer's price for the line, with a little noise
    # (product mix); kept in hundredths of a tonne, at least 0.01 t.
    price = pop.price[customer, line]
    centi_t = np.rint(np.abs(cents) / price * np.exp(0.08 * rng.standard_normal(total)))
    centi_t = np.maximum(centi_t.astype(np.int64), 1) * np.sign(cents)

    table = pa.Table.from_arrays(
        [
            ctx.orders.take("O", total),
            ctx.customer_ids.take(pa.array(customer)),
            take_strings(vocab.BUSINESS_LINES, line),
            date_array(period.start + day),
            decimal_array(cents * (UNITS // 100)),
            decimal_array(centi_t * (UNITS // 100)),
            take_strings(vocab.CHANNELS, channel),
        ],
        schema=canonical_schema("orders"),
    )
    return table, _OrderRows(customer, day, line, cents, is_return)


def _receivables(ctx: ShardContext, rows: _OrderRows, rng: np.random.Generator) -> pa.Table:
    """One invoice per order of a customer on credit, due ``terms`` days after the order.

    Most are paid on or before the due date, some late, a few never: those are the overdue
    receivables that S2 grades D. Payments after the as-of date have not happened yet.
    """
    pop, period = ctx.population, ctx.period
    terms_all = pop.credit_terms[rows.customer]
    keep = (terms_all > 0) & ~rows.is_return
    customer = rows.customer[keep]
    order_day = period.start + rows.day[keep]
    terms = terms_all[keep]
    due = order_day + terms
    count = int(customer.size)

    payer = pop.payer[customer]
    p = np.array([_PAYMENT_P[k] for k in (GOOD_PAYER, SLOW_PAYER, BAD_PAYER)])[payer]
    u = rng.random(count)
    unpaid = u >= p[:, 0] + p[:, 1]
    late = ~unpaid & (u >= p[:, 0])
    churned = pop.active_last[customer] < period.days - 1
    near_churn = order_day >= period.start + pop.active_last[customer] - _CHURN_UNPAID_WINDOW
    unpaid |= churned & near_churn & (rng.random(count) < _CHURN_UNPAID_P)

    early = rng.integers(0, 16, count)
    mean_delay = np.array([_LATE_MEAN_DAYS[k] for k in (GOOD_PAYER, SLOW_PAYER, BAD_PAYER)])
    delay = 1 + rng.geometric(1.0 / mean_delay[payer])
    paid = np.where(late, due + delay, np.maximum(due - early, order_day))
    has_paid = ~unpaid & (paid <= period.as_of)

    return pa.Table.from_arrays(
        [
            ctx.invoices.take("I", count),
            ctx.customer_ids.take(pa.array(customer)),
            take_strings(vocab.BUSINESS_LINES, rows.line[keep]),
            date_array(due),
            decimal_array(rows.cents[keep] * (UNITS // 100)),
            date_array(np.where(has_paid, paid, 0), valid=has_paid),
        ],
        schema=canonical_schema("receivables"),
    )


def target_months(period: Period) -> np.ndarray:
    """First days (epoch) of the target months: the as-of month and the ones before it,
    as many as fall inside the period."""
    as_of = np.datetime64(int(period.as_of), "D").astype(object)
    month_one = as_of.replace(day=1)
    starts = [epoch_day(add_months(month_one, -k)) for k in range(TARGET_MONTHS - 1, -1, -1)]
    return np.asarray([s for s in starts if s >= period.start], dtype=np.int64)


def _targets(ctx: ShardContext, lo: int, hi: int, rng: np.random.Generator) -> pa.Table:
    """Monthly targets per customer and business line, set by the rep at the start of the
    month for customers then doing business: about the month's expected sales, seasonally
    adjusted, with the optimism of a sales plan, rounded to 100 yuan."""
    pop, period = ctx.population, ctx.period
    months = target_months(period)
    k = hi - lo
    month_index = months - period.start  # period index of each month's first day
    share = np.stack([pop.p_dairy[lo:hi], 1.0 - pop.p_dairy[lo:hi]], axis=1)  # (k, 2)
    active = (
        (pop.active_first[lo:hi, None] <= month_index[None, :])
        & (pop.active_last[lo:hi, None] >= month_index[None, :])
        & ~pop.prospect[lo:hi, None]
    )  # (k, m)
    factors = np.asarray(vocab.MONTH_FACTORS)
    month_factor = factors[months.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12]
    month_factor = month_factor / factors.mean()
    trend = np.exp(pop.growth[lo:hi, None] * (month_index[None, :] - (period.days - 183)) / 365.25)
    expected = (pop.value[lo:hi, None, None] / 12) * share[:, :, None] * month_factor
    expected = expected * trend[:, None, :] * rng.uniform(0.85, 1.3, (k, 2, months.size))
    include = (share[:, :, None] > 0.0) & active[:, None, :]
    yuan = np.maximum(np.rint(expected / 100) * 100, 1000).astype(np.int64)

    customer, line, month = np.nonzero(include)  # C order: customer, line, month
    return pa.Table.from_arrays(
        [
            ctx.customer_ids.take(pa.array(customer + lo)),
            take_strings(vocab.BUSINESS_LINES, line),
            date_array(months[month]),
            decimal_array(yuan[include] * UNITS),
        ],
        schema=canonical_schema("targets"),
    )


def _events(ctx: ShardContext, lo: int, hi: int, rng: np.random.Generator) -> pa.Table:
    """Score events (S4's bonus, deduction and red-line items) on days the customer is
    active, each carrying the points that were awarded."""
    pop, period = ctx.population, ctx.period
    counts = ctx.event_counts[lo:hi]
    total = int(counts.sum())
    first = pop.active_first[lo:hi]
    last = pop.active_last[lo:hi]
    row_first = np.repeat(first, counts)
    row_span = np.repeat(last - first + 1, counts)
    drawn = row_first + (rng.random(total) * row_span).astype(np.int64)
    local, day = _sorted_days(counts, drawn, period.days)
    customer = local + lo

    line = (rng.random(total) >= pop.p_dairy[customer]).astype(np.int8)
    item_p = np.asarray([w for _, w, _, _ in vocab.SCORE_ITEMS])
    item = rng.choice(item_p.size, size=total, p=item_p / item_p.sum())
    points = np.zeros(total, dtype=np.int64)
    for k, (_, _, values, probs) in enumerate(vocab.SCORE_ITEMS):
        rows = item == k
        points[rows] = rng.choice(np.asarray(values), size=int(rows.sum()), p=np.asarray(probs))
    names = tuple(name for name, _, _, _ in vocab.SCORE_ITEMS)
    red_line = item == names.index(vocab.RED_LINE_ITEM)

    return pa.Table.from_arrays(
        [
            ctx.events.take("E", total),
            ctx.customer_ids.take(pa.array(customer)),
            take_strings(vocab.BUSINESS_LINES, line),
            date_array(period.start + day),
            take_strings(names, item),
            decimal_array(points * UNITS),
            pa.array(red_line, type=pa.bool_()),
        ],
        schema=canonical_schema("score_events"),
    )
