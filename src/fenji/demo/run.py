"""``fenji demo``: a demo company, every shipped policy evaluated, the results shown.

The demo data is generated deterministically (same seed, same company) into a folder, so
running the demo twice gives the same grades and does not duplicate anything.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from rich.console import Console

from fenji.api import evaluate
from fenji.demo.generate import generate
from fenji.policy.validate import load_policy
from fenji.report import print_summary
from fenji.shipped import shipped_policies

AS_OF = date(2026, 10, 31)


def run_demo(folder: Path, *, customers: int = 2000, lang: str = "zh", console: Console) -> None:
    """Generate (or reuse) the demo data in ``folder`` and evaluate every shipped policy."""
    data = folder / "data"
    marker = data / f".generated-{customers}"
    started = time.perf_counter()
    if not marker.exists():
        data.mkdir(parents=True, exist_ok=True)
        generate(data, customers=customers, as_of=AS_OF, fmt="csv")
        marker.touch()
        console.print(f"demo data: {customers} customers -> {data}")
    else:
        console.print(f"demo data: reusing {data}")
    out = folder / "results"
    out.mkdir(parents=True, exist_ok=True)
    first_customer: str | None = None
    for path in shipped_policies():
        policy = load_policy(path)
        result_file = out / f"{policy.name}.csv"
        result = evaluate(policy, data, AS_OF, lang=lang, output=result_file)
        result.write(result_file)
        print_summary(result.summary(), console, lang)
        console.print(f"-> {result_file}\n")
        if first_customer is None and result.table.num_rows:
            first_customer = str(result.table.column("customer_id")[0].as_py())
    if first_customer is not None:
        head = shipped_policies()[0]
        explained = evaluate(head, data, AS_OF, lang=lang)
        title = "示例解释" if lang == "zh" else "example explanation"
        console.print(f"[bold]{title}: {first_customer}[/bold]")
        for item in explained.explain(first_customer):
            console.print(f"  {item.title}: {item.why or item.label}")
    console.print(f"done in {time.perf_counter() - started:.1f}s")
