"""The country on paper (docs/scaling.md): sizes from a generated landing, rates from a
benchmark run, and the arithmetic between them, printed as Markdown.

    python benchmarks/country.py [--results FILE] [--data DIR] [--ratio R]

Sizes: the scale-1 city landing of P1 (Kota Malang, 2020-2025: initial extracts and six
years of daily deltas), scaled by accounts to the country. Rates: from run.py's JSON
(default benchmarks/.data/results.json; --results benchmarks/.data/results-quick.json for a
quick run's, which the output then says): P4's ingest rows/s of 1 and 2 workers and its
rebuild seconds, W's writer load rows/s; --ratio plans with that two-worker ratio instead
of P4's (e.g. the target 1.7, when P4 ran on a busy machine). Nothing here is measured:
it is arithmetic.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from datetime import date
from pathlib import Path

from harness import BENCHMARKS
from landings import CITY_END, CITY_START, landing_for

COUNTRY_ACCOUNTS = 45_000_000  # issue 10: ~45M accounts in 514 regencies and cities
REGENCIES = 514
CITY_ACCOUNTS = 150_000  # scale 1 is Kota Malang, ~150k active accounts by 2025 (spec/cli.md)
NIGHTLY_WINDOW_SECONDS = 2 * 3600
# Worker counts the backfill table shows.
WORKER_STEPS = (1, 2, 4, 8, 16, 32, 64, 128)


def delta_days(landing: Path, year: int) -> list[int]:
    """Rows (both kinds) of each working day's delivery in `year`, the initial extract aside.
    Weekend extracts are empty: a nightly's work comes on working days."""
    counts = json.loads(landing.with_name(landing.name + ".rows.json").read_text())
    first = min(name.split("_")[1][:8] for name in counts)
    days: dict[str, int] = {}
    for name, rows in counts.items():
        day = name.split("_")[1][:8]
        if day != first and day.startswith(str(year)) and date(int(day[:4]), int(day[4:6]), int(day[6:])).weekday() < 5:
            days[day] = days.get(day, 0) + rows
    return sorted(days.values())


def rates(results: dict) -> dict[str, float | None]:
    p4 = results["results"].get("P4", {}).get("by_workers", {})
    w = results["results"].get("W", {})

    def step(figure: dict | None, name: str, what: str) -> float | None:
        return (figure or {}).get(what, {}).get(name)

    one, two = p4.get("1"), p4.get("2")
    return {
        "worker": step(one, "ingest", "steps_rows_per_second"),
        "two": step(two, "ingest", "steps_rows_per_second"),
        "writer": step(w.get("cakupan"), "load", "steps_rows_per_second"),
        "floor": step(w.get("floor"), "load", "steps_rows_per_second"),
        "rebuild_seconds": step(one, "rebuild", "steps_seconds_median"),
        "rebuild_rows": (one or {}).get("rows"),
        "rest_seconds": step(one, "rest", "steps_seconds_median"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=BENCHMARKS / ".data" / "results.json")
    parser.add_argument("--data", type=Path, default=BENCHMARKS / ".data")
    parser.add_argument("--ratio", type=float, help="two workers' ingest rate over one's (default: P4's)")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    measured = rates(results)
    if args.ratio and measured["worker"]:
        measured["two"] = args.ratio * measured["worker"]
    landing = landing_for(args.data.resolve(), 1, CITY_START, CITY_END)
    counts = json.loads(landing.with_name(landing.name + ".rows.json").read_text())
    factor = COUNTRY_ACCOUNTS / CITY_ACCOUNTS
    days = delta_days(landing, CITY_END.year)
    city_backfill = sum(counts.values())
    night_mean, night_peak = statistics.mean(days) * factor, max(days) * factor
    backfill_rows = city_backfill * factor

    machine = results["machine"]
    quick = results["sizes"]["repeat"] == 1 and results["sizes"]["province_scale"] < 30
    print(f"Rates from {args.results.name} ({'QUICK run, ' if quick else ''}{machine['cores']} cores, load average "
          f"{' '.join(f'{load:.1f}' for load in machine['load_average'])} at the end, {results['finished_at']})\n")
    print("| size | city, scale 1 | country (x{:,.0f} accounts) |".format(factor))
    print("|---|---|---|")
    print(f"| working-day delta, mean ({CITY_END.year}, {len(days)} days) | {statistics.mean(days):,.0f} rows "
          f"| {night_mean:,.0f} rows |")
    print(f"| working-day delta, largest | {max(days):,} rows | {night_peak:,.0f} rows |")
    print(f"| full backfill ({CITY_START.year}-{CITY_END.year}: initial extracts + six years of deltas) "
          f"| {city_backfill:,} rows | {backfill_rows:,.0f} rows |")

    worker, two, writer = measured["worker"], measured["two"], measured["writer"]
    if not (worker and writer and measured["floor"] and measured["rebuild_seconds"] is not None):
        print("\nNo P4 (1 worker, with its steps) or W figures in these results: run benchmarks/run.py --only p4,w first.")
        return
    # Beyond one, each worker at the rate each of P4's two had (never above one's alone):
    # sharing costs (the writer, the flow's process, memory bandwidth) are in it.
    efficiency = min(1.0, two / (2 * worker)) if two else 1.0
    shared = worker * efficiency

    def ingest_rate(workers: int) -> float:
        return min(worker if workers == 1 else workers * shared, writer)

    # the rebuild reads every raw row: scaled from P4's warehouse to the country's, linearly
    rebuild = measured["rebuild_seconds"] * backfill_rows / measured["rebuild_rows"]
    fixed = measured["rest_seconds"] - measured["rebuild_seconds"] + rebuild
    print(f"\n| rate | figure |\n|---|---|")
    print(f"| one worker's ingest (P4, 1 worker) | {worker:,.0f} rows/s |")
    source = f"planned, --ratio {args.ratio:g}" if args.ratio else "P4"
    print(f"| two workers' ingest ({source}) | {two:,.0f} rows/s: {two / worker:.2f}x, efficiency {efficiency:.0%} per worker |"
          if two else "| two workers' ingest (P4) | not measured: efficiency taken as 100% |")
    print(f"| single writer, Parquet to raw.enrolments (W) | {writer:,.0f} rows/s "
          f"(plain-DuckDB floor {measured['floor']:,.0f}) |")
    print(f"| rebuild at country size (P4's {measured['rebuild_seconds']:.0f} s for {measured['rebuild_rows']:,} rows, "
          f"x{backfill_rows / measured['rebuild_rows']:,.1f}) | {rebuild / 60:,.0f} min |")

    ceiling = writer / shared
    print(f"\nThe writer becomes the limit at {ceiling:,.1f} workers ({writer:,.0f} rows/s / "
          f"{shared:,.0f} rows/s per worker).\n")
    window = NIGHTLY_WINDOW_SECONDS - fixed
    print("| nightly | rows | ingest budget (2 h minus start-up, rebuild, report) | workers needed |")
    print("|---|---|---|---|")
    for label, rows in (("mean working day", night_mean), ("largest day", night_peak)):
        needed = next((n for n in range(1, math.ceil(ceiling) + 2) if rows / ingest_rate(n) <= window), None)
        budget = f"{window / 60:,.0f} min" if window > 0 else f"none: the rest alone takes {fixed / 60:,.0f} min"
        print(f"| {label} | {rows:,.0f} | {budget} | {needed or 'no number suffices'} |")
    print("\n| workers | ingest rows/s | limited by | full backfill, hours |")
    print("|---|---|---|---|")
    for workers in WORKER_STEPS:
        rate = ingest_rate(workers)
        limit = "writer" if rate == writer else "workers"
        print(f"| {workers} | {rate:,.0f} | {limit} | {(backfill_rows / rate + fixed) / 3600:,.1f} |")


if __name__ == "__main__":
    main()
