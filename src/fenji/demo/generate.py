"""Generate realistic, deterministic demo data in fenji's canonical import format.

The data looks like the customer base of a Chinese food supplier (乳品 and 休闲 lines) selling
to retailers, wholesalers and restaurants through its own delivery and through distributors:
heavy-tailed customer values, seasonal orders, new and churned customers, a few returns,
invoices paid on time, late or never, monthly targets and rare score events; on request also
the CRM's follow-ups and feedback (``fenji.demo.crm``). It feeds
``fenji demo`` (a few thousand customers, in a couple of seconds) and the engine benchmark
(hundreds of thousands of customers and tens of millions of orders, in bounded memory).

Same arguments give the same data, and CSV output is byte-identical. ``chunk_rows`` only bounds
how many rows are held and written at a time: it never changes the data (CSV bytes stay the
same; Parquet differs only in where row groups end).

Usage::

    python -m fenji.demo.generate --customers 250k --orders 5M --out data/ --format parquet
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from fenji.demo import vocabulary as vocab
from fenji.demo.crm import crm_facts
from fenji.demo.facts import IdCursor, ShardContext, draw_event_counts, shard_facts
from fenji.demo.population import Period, Population, draw_population
from fenji.demo.tables import (
    Format,
    TableSink,
    canonical_schema,
    date_array,
    fixed_width_ids,
    take_strings,
)

DEFAULT_AS_OF = date(2026, 10, 31)
#: Orders per customer and month when the caller does not say (about 60 over 30 months).
DEFAULT_ORDERS_PER_CUSTOMER_MONTH = 2
#: Customers per shard. Each shard has its own random stream, so this constant (not
#: chunk_rows) fixes the data; changing it changes every generated fact.
SHARD_CUSTOMERS = 1024
DEFAULT_CHUNK_ROWS = 1_000_000
TABLES: tuple[str, ...] = ("customers", "orders", "receivables", "targets", "score_events")
#: What the sales team records in its CRM, written with ``crm=True``: the system of record
#: imports them, the engine does not read them.
CRM_TABLES: tuple[str, ...] = ("interactions", "feedback")

# Independent random streams, so that adding a draw to one part leaves the others unchanged.
_STREAM_POPULATION = 1
_STREAM_COUNTS = 2
_STREAM_SHARD = 3
_STREAM_CRM = 4


@dataclass(frozen=True)
class GenerateResult:
    """Where the data went, how many rows each table got, and how long it took."""

    out_dir: Path
    fmt: Format
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def paths(self) -> dict[str, Path]:
        return {name: self.out_dir / f"{name}.{self.fmt}" for name in self.rows}


def generate(
    out_dir: str | Path,
    *,
    customers: int = 2000,
    orders: int | None = None,
    months: int = 30,
    as_of: date = DEFAULT_AS_OF,
    seed: int = 42,
    fmt: Format = "parquet",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    crm: bool = False,
) -> GenerateResult:
    """Write customers, orders, receivables, targets and score_events to ``out_dir``.

    ``orders`` is the exact number of order rows (returns included) over the ``months``
    months ending at ``as_of``; by default ``customers * months * 2``. ``crm`` adds the last
    year's follow-ups and feedback (``interactions``, ``feedback``) without changing any other
    table. Files of the other format with the same table names are removed from ``out_dir``,
    so that a reader never mixes two generations.
    """
    started = time.perf_counter()
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    if orders is None:
        orders = customers * months * DEFAULT_ORDERS_PER_CUSTOMER_MONTH
    if orders < 0:
        raise ValueError(f"orders must not be negative, got {orders}")
    period = Period.build(as_of, months)
    population = draw_population(customers, period, _rng(seed, _STREAM_POPULATION))

    counts_rng = _rng(seed, _STREAM_COUNTS)
    weight = population.order_weight(period)
    if weight.sum() > 0:
        order_counts = counts_rng.multinomial(orders, weight / weight.sum()).astype(np.int64)
    elif orders == 0:
        order_counts = np.zeros(customers, dtype=np.int64)
    else:  # only with a handful of customers that all happen to be prospects
        raise ValueError(f"none of the {customers} customers can order; ask for more customers")
    event_counts = draw_event_counts(population, period, counts_rng)

    customer_ids = fixed_width_ids("C", 1, customers, population.ids_width)
    order_width = max(7, len(str(orders)))
    ctx = ShardContext(
        population=population,
        period=period,
        order_counts=order_counts,
        event_counts=event_counts,
        customer_ids=customer_ids,
        orders=IdCursor(order_width),
        invoices=IdCursor(order_width),
        events=IdCursor(max(6, len(str(int(event_counts.sum()))))),
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    other = "csv" if fmt == "parquet" else "parquet"
    names = (*TABLES, *CRM_TABLES) if crm else TABLES
    for name in (*TABLES, *CRM_TABLES):
        (out / f"{name}.{other}").unlink(missing_ok=True)
        if name not in names:
            (out / f"{name}.{fmt}").unlink(missing_ok=True)

    sinks = {name: TableSink(out, name, fmt, chunk_rows) for name in names}
    try:
        sinks["customers"].write(_customers_table(population, customer_ids))
        for shard, lo in enumerate(range(0, customers, SHARD_CUSTOMERS)):
            hi = min(lo + SHARD_CUSTOMERS, customers)
            facts = shard_facts(ctx, lo, hi, _rng(seed, _STREAM_SHARD, shard))
            for name, table in facts.items():
                sinks[name].write(table)
        if crm:
            for name, table in crm_facts(
                population, period, customer_ids, _rng(seed, _STREAM_CRM)
            ).items():
                sinks[name].write(table)
        rows = {name: sink.close() for name, sink in sinks.items()}
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise
    return GenerateResult(out, fmt, rows, time.perf_counter() - started)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _customers_table(pop: Population, customer_ids: pa.Array) -> pa.Table:
    first_deal = date_array(pop.first_deal, valid=~pop.prospect)
    return pa.Table.from_arrays(
        [
            customer_ids,
            pa.array(pop.names, type=pa.string()),
            take_strings(tuple(name for name, _, _ in vocab.INDUSTRIES), pop.industry),
            take_strings(tuple(name for name, _, _ in vocab.REGIONS), pop.region),
            take_strings(vocab.SCALES, pop.scale),
            take_strings(vocab.OWNERS, pop.owner),
            first_deal,
            take_strings(vocab.INFLUENCES, pop.influence),
        ],
        schema=canonical_schema("customers"),
    )


def parse_count(text: str) -> int:
    """A row count as people write it on a command line: ``2000``, ``250k``, ``5M``, ``1.5m``."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(cleaned[-1:].lower(), 1)
    number = cleaned[:-1] if scale != 1 else cleaned
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a count; write e.g. 2000, 250k or 5M"
        ) from None
    if value < 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole, non-negative count")
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fenji.demo.generate",
        description="Generate demo customer data in fenji's canonical format.",
    )
    parser.add_argument("--customers", type=parse_count, default=2000)
    parser.add_argument(
        "--orders", type=parse_count, default=None, help="default: customers x months x 2"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--months", type=int, default=30)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument("--chunk-rows", type=parse_count, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument(
        "--crm", action="store_true", help="add the last year's follow-ups and feedback"
    )
    args = parser.parse_args(argv)
    try:
        result = generate(
            args.out,
            customers=args.customers,
            orders=args.orders,
            months=args.months,
            as_of=args.as_of,
            seed=args.seed,
            fmt=args.format,
            chunk_rows=args.chunk_rows,
            crm=args.crm,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for name, path in result.paths().items():
        print(f"{result.rows[name]:>12,}  {path}")
    print(f"generated in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
