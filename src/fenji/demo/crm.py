"""Follow-ups (跟进记录) and feedback (满意度、投诉) of the demo company's last year.

They are what a sales team records in its CRM, so they follow the customer's value and
standing the way a manager would expect to find them: big customers are followed up more often
and more often in person, key accounts were visited in the last three weeks, and some
customers have been neglected for months — with a next follow-up date long past. Quarterly
satisfaction surveys are answered more by big customers, and score lower where the customer is
neglected or about to leave; a few customers complained.

Everything is drawn from the customers' parameters (:class:`fenji.demo.population.Population`)
with its own random stream, so adding these tables changes none of the other generated facts.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fenji.demo import vocabulary as vocab
from fenji.demo.population import Period, Population, add_months, epoch_day
from fenji.demo.tables import (
    UNITS,
    canonical_schema,
    date_array,
    decimal_array,
    fixed_width_ids,
    take_strings,
)

#: The months, ending with the as-of date, that the CRM holds follow-ups and surveys for.
CRM_MONTHS = 12
#: Follow-ups per month: a small base for everyone, growing steeply with the customer's value
#: (cubic in its value percentile), so key accounts get a few a month and most a few a year.
FOLLOW_UPS_BASE = 0.15
FOLLOW_UPS_TOP = 2.4
#: Key accounts: the most valuable customers still doing business; each had a visit lately.
KEY_ACCOUNT_PERCENTILE = 0.9
KEY_VISIT_DAYS = 21
#: Share of the other active customers nobody has followed up for 75-200 days.
NEGLECTED_SHARE = 0.12
NEGLECTED_DAYS = (75, 200)
#: A churned customer is still called on for this many days after its last order.
WIN_BACK_DAYS = 45
#: Share of follow-ups that set a next follow-up date, and the choice of intervals (days).
NEXT_DUE_SHARE = 0.55
NEXT_DUE_DAYS = (7, 14, 30, 45)
#: Kinds (visit, call, email, meeting) by tier: key accounts, the upper half, the rest.
KIND_P = (
    (0.45, 0.25, 0.10, 0.20),
    (0.30, 0.45, 0.20, 0.05),
    (0.10, 0.55, 0.33, 0.02),
)
KINDS = ("visit", "call", "email", "meeting")
#: Survey answers: response rate grows with value; scores 1-5 around this mean.
SURVEY_RESPONSE = (0.25, 0.35)
SATISFACTION_MEAN = 4.1
#: Chance a customer complained in the year (more when neglected), and of a second time.
COMPLAINT_P = 0.035
COMPLAINT_NEGLECTED_P = 0.12


def crm_facts(
    pop: Population, period: Period, customer_ids: pa.Array, rng: np.random.Generator
) -> dict[str, pa.Table]:
    """The ``interactions`` and ``feedback`` tables of the whole population."""
    as_of = period.as_of
    start = max(period.start, epoch_day(add_months(_date(as_of), -CRM_MONTHS)) + 1)
    n = pop.size
    percentile = (np.argsort(np.argsort(pop.value)) + 0.5) / n
    last_active = period.start + pop.active_last
    churned = pop.active_last < period.days - 1
    key = (percentile >= KEY_ACCOUNT_PERCENTILE) & ~churned & ~pop.prospect
    neglected = ~key & ~churned & (rng.random(n) < NEGLECTED_SHARE)

    # Each customer's stretch of follow-ups: from a month before its first deal (a prospect:
    # from some day of the year) to the as-of date, to a churned customer's last order plus a
    # try at winning it back, or to the day its rep stopped calling.
    courted = start + rng.integers(0, as_of - start + 1, n)
    first = np.where(pop.prospect, courted, np.maximum(start, pop.first_deal - 30))
    last = np.where(churned, np.minimum(as_of, last_active + WIN_BACK_DAYS), as_of)
    quiet = rng.integers(NEGLECTED_DAYS[0], NEGLECTED_DAYS[1] + 1, n)
    last = np.where(neglected, np.minimum(last, as_of - quiet), last)
    span = np.maximum(last - first + 1, 0)

    rate = FOLLOW_UPS_BASE + FOLLOW_UPS_TOP * percentile**3
    counts = np.where(span > 0, rng.poisson(rate * span / 30.44), 0).astype(np.int64)
    customer = np.repeat(np.arange(n), counts)
    day = first[customer] + (rng.random(customer.size) * span[customer]).astype(np.int64)
    visits = np.flatnonzero(key)  # every key account had a visit in the last three weeks
    customer = np.concatenate([customer, visits])
    day = np.concatenate([day, as_of - rng.integers(0, KEY_VISIT_DAYS, visits.size)])
    day = _weekday(day, as_of)
    order = np.lexsort((day, customer))
    key_visit = order >= order.size - visits.size
    customer, day = customer[order], day[order]

    tier = np.where(key, 0, np.where(percentile >= 0.5, 1, 2))[customer]
    cumulative = np.cumsum(np.asarray(KIND_P), axis=1)[tier]
    kind = np.minimum((rng.random(customer.size)[:, None] > cumulative).sum(axis=1), 3)
    kind = np.where(key_visit, 0, kind)
    note = _notes(kind, rng)
    interval = np.asarray(NEXT_DUE_DAYS)[rng.integers(0, len(NEXT_DUE_DAYS), customer.size)]
    latest = np.append(customer[1:] != customer[:-1], True)[: customer.size]
    # A neglected customer's last follow-up set a next date that has long passed.
    due = (rng.random(customer.size) < NEXT_DUE_SHARE) | (latest & neglected[customer])
    interactions = pa.Table.from_arrays(
        [
            fixed_width_ids("FU", 1, customer.size, max(6, len(str(customer.size)))),
            customer_ids.take(pa.array(customer)),
            take_strings(KINDS, kind),
            date_array(day),
            take_strings(vocab.OWNERS, pop.owner[customer]),
            pa.array(note, pa.string()),
            date_array(day + interval, valid=due),
        ],
        schema=canonical_schema("interactions"),
    )
    feedback = _feedback(pop, period, percentile, churned, neglected, start, customer_ids, rng)
    return {"interactions": interactions, "feedback": feedback}


def _date(epoch: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + int(epoch))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _weekday(days: np.ndarray, as_of: int) -> np.ndarray:
    """Saturdays move to the Friday before, Sundays to the Monday after (or to the last
    Friday when that Monday is after the as-of date): reps work on weekdays."""
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    moved = days - (weekday == 5) + (weekday == 6)
    return np.where(moved > as_of, moved - 3, moved)


def _notes(kind: np.ndarray, rng: np.random.Generator) -> list[str]:
    pick = rng.random(kind.size)
    notes = vocab.FOLLOW_UP_NOTES
    return [
        notes[k][int(u * len(notes[k]))] for k, u in zip(kind.tolist(), pick.tolist(), strict=True)
    ]


def survey_days(start: int, as_of: int) -> list[int]:
    """The days the quarterly satisfaction survey went out: the 15th of each quarter's last
    month, with ten days left for the answers before the as-of date."""
    first, last = _date(start), _date(as_of - 10)
    days = []
    month = date(first.year, first.month, 15)
    while month <= last:
        if month.month % 3 == 0 and month >= first:
            days.append(epoch_day(month))
        month = add_months(month, 1)
    return days


def _feedback(
    pop: Population,
    period: Period,
    percentile: np.ndarray,
    churned: np.ndarray,
    neglected: np.ndarray,
    start: int,
    customer_ids: pa.Array,
    rng: np.random.Generator,
) -> pa.Table:
    """Quarterly survey answers (scores 1-5) and complaints, sorted by customer and date."""
    n, as_of = pop.size, period.as_of
    first_active = period.start + pop.active_first
    last_active = period.start + pop.active_last
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for survey in survey_days(start, as_of):
        active = ~pop.prospect & (first_active <= survey) & (last_active >= survey - 90)
        response = SURVEY_RESPONSE[0] + SURVEY_RESPONSE[1] * percentile
        answers = active & (rng.random(n) < response)
        leaving = churned & (last_active < survey + 120)
        mean = (
            SATISFACTION_MEAN
            + 0.3 * (percentile >= KEY_ACCOUNT_PERCENTILE)
            - 0.9 * neglected
            - 1.0 * leaving
        )
        score = np.clip(np.rint(mean + rng.normal(0, 0.8, n)), 1, 5).astype(np.int64)
        who = np.flatnonzero(answers)
        answered = _weekday(survey + rng.integers(0, 10, who.size), as_of)
        parts.append((who, answered, score[who], np.full(who.size, -1)))
    # Complaints come from customers doing business during the year, neglected ones above all.
    chance = np.where(neglected, COMPLAINT_NEGLECTED_P, COMPLAINT_P)
    complained = ~pop.prospect & (last_active >= start) & (rng.random(n) < chance)
    again = complained & (rng.random(n) < 0.25)
    who = np.concatenate([np.flatnonzero(complained), np.flatnonzero(again)])
    low = np.maximum(start, first_active[who])
    high = np.minimum(as_of, last_active[who] + 30)
    when = low + (rng.random(who.size) * (high - low + 1)).astype(np.int64)
    text = rng.integers(0, len(vocab.COMPLAINTS), who.size)
    parts.append((who, _weekday(when, as_of), np.full(who.size, -1), text))

    customer, day, score, text = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.lexsort((text, day, customer))
    customer, day, score, text = customer[order], day[order], score[order], text[order]
    complaint = text >= 0
    decimal = canonical_schema("feedback").field("score").type
    return pa.Table.from_arrays(
        [
            fixed_width_ids("FB", 1, customer.size, max(6, len(str(customer.size)))),
            customer_ids.take(pa.array(customer)),
            take_strings(("satisfaction", "complaint"), complaint.astype(np.int8)),
            date_array(day),
            pc.if_else(pa.array(complaint), pa.scalar(None, decimal), decimal_array(score * UNITS)),
            take_strings(vocab.COMPLAINTS, text),
        ],
        schema=canonical_schema("feedback"),
    )
