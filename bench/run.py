"""Benchmark ``fenji evaluate`` (S1) against one hand-written DuckDB query, as whole processes.

For each size (orders:customers) the demo generator writes a Parquet data set once (cached in
``bench/.data/``, regenerated when the generator's code changes). Then each command runs once
to warm the page cache and produce its output, the two outputs are compared label by label
(a benchmark of a wrong answer is worthless: any difference stops the run with exit code 2),
and each command runs ``--repeat`` more times, alternating, as separate processes. Wall time
is measured around the process, peak memory is the child's ``ru_maxrss`` from ``os.wait4``.

Usage::

    .venv/bin/python bench/run.py --sizes 5M:250k,10M:500k,50M:500k
    .venv/bin/python bench/run.py --sizes 5M:250k --only handwritten
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from fenji.demo.generate import parse_count

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEMO = ROOT / "src" / "fenji" / "demo"
#: The modules that decide the generated data: a cached data set is stale when one changes.
GENERATOR_SOURCES = tuple(
    DEMO / f"{name}.py" for name in ("vocabulary", "population", "facts", "tables", "generate")
)
LABELS = ("sales", "volume", "influence", "tenure", "overall")
COMMANDS = ("fenji", "handwritten")


@dataclass(frozen=True)
class Size:
    orders: int
    customers: int

    @property
    def label(self) -> str:
        return f"{human(self.orders)}:{human(self.customers)}"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


@dataclass
class Measured:
    size: Size
    generate: Run
    data_mb: float
    runs: dict[str, list[Run]] = field(default_factory=dict)
    #: 1-minute load average before and after the timed runs: other work on the machine
    #: (a busy CI runner, a colleague's tests) shows up here before it skews a figure.
    load: tuple[float, float] = (0.0, 0.0)

    def median(self, command: str) -> Run:
        runs = self.runs[command]
        return Run(
            statistics.median(r.seconds for r in runs),
            statistics.median(r.peak_rss_mb for r in runs),
        )


def human(n: int) -> str:
    """5000000 -> 5M, 250000 -> 250k: how sizes are written on the command line."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale and n % (scale // 10) == 0:
            text = f"{n / scale:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return str(n)


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for part in text.split(","):
        orders, sep, customers = part.strip().partition(":")
        if not sep:
            raise argparse.ArgumentTypeError(
                f"size {part!r} must be ORDERS:CUSTOMERS, e.g. 5M:250k"
            )
        sizes.append(Size(parse_count(orders), parse_count(customers)))
    return sizes


def timed(cmd: list[str], *, timeout: float, log: Path) -> Run:
    """Run ``cmd`` as a child process; its wall time and peak resident memory.

    ``os.wait4`` returns the child's own resource usage, so the figure is the command's peak
    memory, not the harness's. A failing command stops the benchmark with its output.
    """
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return Run(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def generator_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in GENERATOR_SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_data(size: Size, args: argparse.Namespace) -> tuple[Path, Run, float]:
    """The data set of ``size``, generated unless an identical one is cached."""
    folder = args.data_dir / f"orders-{human(size.orders)}_customers-{human(size.customers)}"
    folder = folder.with_name(f"{folder.name}_seed-{args.seed}")
    marker = folder / "generated.json"
    wanted = {
        "orders": size.orders,
        "customers": size.customers,
        "seed": args.seed,
        "as_of": args.as_of.isoformat(),
        "generator": generator_fingerprint(),
    }
    if marker.is_file():
        saved = json.loads(marker.read_text(encoding="utf-8"))
        if {k: saved.get(k) for k in wanted} == wanted:
            print(f"[{size.label}] reusing {folder}", file=sys.stderr)
            return folder, Run(saved["seconds"], saved["peak_rss_mb"]), saved["data_mb"]
    marker.unlink(missing_ok=True)
    print(f"[{size.label}] generating {folder} ...", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "fenji.demo.generate",
        "--orders", str(size.orders), "--customers", str(size.customers),
        "--seed", str(args.seed), "--as-of", args.as_of.isoformat(),
        "--out", str(folder), "--format", "parquet",
    ]  # fmt: skip
    run = timed(cmd, timeout=args.timeout, log=folder / "generate.log")
    data_mb = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
    info = {**wanted, "seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb, "data_mb": data_mb}
    marker.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return folder, run, data_mb


def commands(data: Path, out: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    as_of = args.as_of.isoformat()
    cmds = {
        "handwritten": [
            sys.executable, str(BENCH / "handwritten_s1.py"),
            "--data", str(data), "--as-of", as_of, "--out", str(out / "handwritten.parquet"),
        ],
        "fenji": [
            args.fenji, "evaluate", "--policy", str(args.policy),
            "--data", str(data), "--as-of", as_of, "--out", str(out / "fenji.parquet"),
        ],
    }  # fmt: skip
    return {name: cmd for name, cmd in cmds.items() if name in args.commands}


def disagreements(out: Path, customers: int, commands_run: list[str]) -> list[str]:
    """Every way the outputs fail to agree, empty when they match cell for cell."""
    problems = []
    con = duckdb.connect()
    hand = out / "handwritten.parquet"
    [(rows,)] = con.execute(f"SELECT count(*) FROM '{hand}'").fetchall()
    if rows != customers:
        problems.append(f"handwritten graded {rows} customers, the data has {customers}")
    if "fenji" not in commands_run:
        return problems
    cols = ", ".join(f'"{c}"' for c in LABELS)
    cmp = " OR ".join(f'h."{c}" IS DISTINCT FROM f."{c}"' for c in LABELS)
    rows = con.execute(
        f"""
        WITH h AS (SELECT customer_id, {cols} FROM '{hand}'),
             f AS (SELECT customer_id::VARCHAR AS customer_id, {cols} FROM '{out}/fenji.parquet')
        SELECT coalesce(h.customer_id, f.customer_id) AS customer_id,
               h.customer_id IS NULL AS only_fenji, f.customer_id IS NULL AS only_handwritten,
               [{", ".join(f'h."{c}"' for c in LABELS)}] AS handwritten,
               [{", ".join(f'f."{c}"' for c in LABELS)}] AS fenji
        FROM h FULL OUTER JOIN f USING (customer_id)
        WHERE h.customer_id IS NULL OR f.customer_id IS NULL OR {cmp}
        ORDER BY 1
        """
    ).fetchall()
    for customer, only_fenji, only_hand, h_labels, f_labels in rows[:20]:
        if only_fenji:
            problems.append(f"{customer}: only in fenji's output")
        elif only_hand:
            problems.append(f"{customer}: missing from fenji's output")
        else:
            problems.append(f"{customer}: {LABELS} handwritten {h_labels} vs fenji {f_labels}")
    if len(rows) > 20:
        problems.append(f"... {len(rows)} customers differ in all")
    return problems


def machine() -> str:
    mem_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 2**20:.1f} GiB RAM, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def markdown(results: list[Measured], args: argparse.Namespace) -> str:
    lines = [
        f"Machine: {machine()}",
        f"Runs per command: {args.repeat} (after one warm-up run); medians shown.",
        "",
        "| orders | customers | generate s | generate peak MiB | data MiB |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        lines.append(
            f"| {human(m.size.orders)} | {human(m.size.customers)} | {m.generate.seconds:.1f} "
            f"| {m.generate.peak_rss_mb:,.0f} | {m.data_mb:,.0f} |"
        )
    lines += [
        "",
        "| orders | customers | command | median s | min s | max s | peak RSS MiB "
        "| fenji / handwritten time | fenji / handwritten memory | load before / after |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in results:
        for command in (c for c in COMMANDS if c in m.runs):
            med, runs = m.median(command), m.runs[command]
            ratio_t = ratio_m = ""
            if command == "fenji" and "handwritten" in m.runs:
                hand = m.median("handwritten")
                ratio_t = f"{med.seconds / hand.seconds:.2f}x"
                ratio_m = f"{med.peak_rss_mb / hand.peak_rss_mb:.2f}x"
            lines.append(
                f"| {human(m.size.orders)} | {human(m.size.customers)} | {command} "
                f"| {med.seconds:.2f} | {min(r.seconds for r in runs):.2f} "
                f"| {max(r.seconds for r in runs):.2f} | {med.peak_rss_mb:,.0f} "
                f"| {ratio_t} | {ratio_m} | {m.load[0]:.1f} / {m.load[1]:.1f} |"
            )
    if len(results) > 1:
        small = min(results, key=lambda m: m.size.orders)
        large = max(results, key=lambda m: m.size.orders)
        lines += [
            "",
            f"Cost per order at {human(large.size.orders)} relative to {human(small.size.orders)} "
            "orders (1.00 = linear scaling):",
            "",
            "| command | s per million orders, small | s per million orders, large | ratio |",
            "| --- | ---: | ---: | ---: |",
        ]
        for command in (c for c in COMMANDS if c in small.runs and c in large.runs):
            per_small = small.median(command).seconds / (small.size.orders / 1e6)
            per_large = large.median(command).seconds / (large.size.orders / 1e6)
            lines.append(
                f"| {command} | {per_small:.3f} | {per_large:.3f} | {per_large / per_small:.2f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("5M:250k,10M:500k"))
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per command")
    parser.add_argument("--only", choices=COMMANDS, help="run one command only")
    parser.add_argument("--data-dir", type=Path, default=BENCH / ".data")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument(
        "--policy", type=Path, default=ROOT / "examples" / "policies" / "tob_abcd.yaml"
    )
    parser.add_argument("--fenji", default=None, help="the fenji executable (default: on PATH)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args()
    args.commands = [args.only] if args.only else list(COMMANDS)

    if "fenji" in args.commands:
        args.fenji = (
            args.fenji
            or shutil.which("fenji")
            or shutil.which("fenji", path=str(Path(sys.executable).parent))
        )
        if not args.fenji:
            parser.error("no `fenji` command found; install the project or use --only handwritten")
        if not args.policy.is_file():
            parser.error(f"policy {args.policy} not found; pass --policy or --only handwritten")

    print(machine(), file=sys.stderr)
    results: list[Measured] = []
    for size in args.sizes:
        data, gen, data_mb = ensure_data(size, args)
        measured = Measured(size, gen, data_mb)
        with tempfile.TemporaryDirectory(prefix="fenji-bench-") as tmp:
            out = Path(tmp)
            cmds = commands(data, out, args)
            for name, cmd in cmds.items():  # warm-up, and the outputs to compare
                timed(cmd, timeout=args.timeout, log=out / f"{name}.log")
            problems = disagreements(out, size.customers, list(cmds))
            if problems:
                print(f"\n!!! [{size.label}] THE OUTPUTS DISAGREE: no timing is worth reporting.")
                print("\n".join(f"!!!   {p}" for p in problems))
                return 2
            load_before = os.getloadavg()[0]
            for i in range(args.repeat):
                for name, cmd in cmds.items():
                    run = timed(cmd, timeout=args.timeout, log=out / f"{name}.log")
                    measured.runs.setdefault(name, []).append(run)
                    print(
                        f"[{size.label}] {name} run {i + 1}/{args.repeat}: "
                        f"{run.seconds:.2f} s, {run.peak_rss_mb:,.0f} MiB",
                        file=sys.stderr,
                    )
        measured.load = (load_before, os.getloadavg()[0])
        results.append(measured)

    if args.json:
        raw = [
            {
                "orders": m.size.orders,
                "customers": m.size.customers,
                "generate": vars(m.generate),
                "load": m.load,
                "runs": {k: [vars(r) for r in v] for k, v in m.runs.items()},
            }
            for m in results
        ]
        args.json.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(markdown(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
