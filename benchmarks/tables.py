"""The results: the targets and whether they hold, the table printed at the end, the JSON
written beside the data."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from sampling import Figure
from scenarios import Context

BACKFILL_RATIO_TARGET = 3.0
# issue 17: against the same work in plain SQL
CITY_SAME_WORK_RATIO_TARGET = 2.0
PROVINCE_SAME_WORK_RATIO_TARGET = 1.5
NIGHTLY_HISTORY_RATIO_TARGET = 1.5
PROVINCE_MEMORY_TARGET_MB = 4096
WORKERS_SPEEDUP_TARGET = 1.7  # P4: ingest throughput of 2 workers against 1


def machine() -> dict:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 1024 / 1024, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def ratio_row(figure: Figure, against: Figure, target: float, extra: str = "") -> tuple:
    if figure.stopped_over_memory_cap:
        return figure, "none: stopped at the memory cap", False
    ratio = figure.median / against.median
    return figure, f"{ratio:.2f}x {('<=' if ratio <= target else '>')} {target:g}{extra}", ratio <= target


def results_table(context: Context) -> tuple[list[tuple], list[dict]]:
    """(figure, verdict text, target holds or None) rows, and the verdicts for the JSON."""
    rows: list[tuple] = []
    verdicts: list[dict] = []

    def add(figure: Figure, verdict: str = "", holds: bool | None = None, target: str | None = None) -> None:
        rows.append((figure, verdict, holds))
        if target:
            verdicts.append({"target": target, "measured": verdict, "holds": holds})

    def add_backfill(name: str, same_work_target: float) -> Figure:
        """A backfill beside both baselines: its rows, its two verdicts; the server-mode figure."""
        result = context.results[name]
        add(result["baseline"])
        add(result["same_work"], f"{result['same_work'].median / result['baseline'].median:.2f}x baseline")
        figure, verdict, holds = ratio_row(result["server"], result["baseline"], BACKFILL_RATIO_TARGET)
        holds = holds and result["agrees_with_baseline"] is True and not figure.failures
        add(figure, verdict, holds, f"{name} backfill (server) <= 3x baseline")
        same_work_verdict(result, "server", same_work_target, f"{name} backfill (server)", verdicts)
        return figure

    if "P1" in context.results:
        p1 = context.results["P1"]
        add_backfill("P1", CITY_SAME_WORK_RATIO_TARGET)
        if "embedded" in p1:
            figure, verdict, _ = ratio_row(p1["embedded"], p1["baseline"], BACKFILL_RATIO_TARGET)
            add(figure, verdict.split(" ")[0] + f" baseline, {p1['embedded'].median / p1['same_work'].median:.2f}x "
                "same work (no target)")
    if "P2" in context.results:
        p2 = context.results["P2"]
        add(p2["one month"])
        figure, verdict, holds = ratio_row(p2["six years"], p2["one month"], NIGHTLY_HISTORY_RATIO_TARGET,
                                           " of one month")
        holds = holds and not figure.failures and not p2["one month"].failures
        add(figure, verdict, holds, "P2 nightly six years <= 1.5x one month")
    if "P3" in context.results:
        figure = add_backfill("P3", PROVINCE_SAME_WORK_RATIO_TARGET)
        memory_holds = figure.peak_mb <= PROVINCE_MEMORY_TARGET_MB
        measured = (f"{figure.peak_mb:,.0f} MB (PSS {figure.peak_pss_mb or 0:,.0f} MB)"
                    + (" (stopped there)" if figure.stopped_over_memory_cap else ""))
        verdicts.append({"target": "P3 peak memory <= 4 GB", "measured": measured, "holds": memory_holds})
    if "P4" in context.results:
        p4 = context.results["P4"]
        one = p4["by_workers"][1]
        add(one, "1.00x (reference)")
        for workers, figure in p4["by_workers"].items():
            if workers == 1:
                continue
            verdict, ratio = speedup(figure, one)
            if workers == 2:
                holds = (ratio is not None and ratio >= WORKERS_SPEEDUP_TARGET and not figure.failures
                         and not one.failures and p4["same_counts_for_all_worker_counts"] is True)
                sign = ">=" if ratio and ratio >= WORKERS_SPEEDUP_TARGET else "<"
                add(figure, f"{verdict} {sign} {WORKERS_SPEEDUP_TARGET:g}" if ratio else verdict, holds,
                    "P4 2 workers >= 1.7x 1 worker's throughput")
            else:
                add(figure, f"{verdict} (no target)")
    if "W" in context.results:
        w = context.results["W"]
        add(w["floor"])
        rate, floor_rate = w["cakupan"].step_rate("load"), w["floor"].step_rate("load")
        add(w["cakupan"], f"{floor_rate / rate:.2f}x the floor's load time (no target)" if rate and floor_rate else "")
    return rows, verdicts


def same_work_verdict(result: dict, mode: str, target: float, label: str, verdicts: list[dict]) -> None:
    """The backfill against the same work in plain SQL: a verdict of its own (the row of
    the backfill holds its ratio to the floor)."""
    figure, same_work = result[mode], result["same_work"]
    ratio = figure.median / same_work.median
    holds = ratio <= target and not figure.failures and not figure.stopped_over_memory_cap
    verdicts.append({"target": f"{label} <= {target:g}x same work", "measured": f"{ratio:.2f}x", "holds": holds})


def speedup(figure: Figure, one: Figure) -> tuple[str, float | None]:
    """Throughput against one worker's: of the ingest step when both logged it (what the
    workers change), with the wall time's beside it; the ratio judged, or None."""
    if figure.failures or one.failures or figure.stopped_over_memory_cap or one.stopped_over_memory_cap:
        return "none: a run failed", None
    wall = one.median / figure.median
    ingest, ingest_one = figure.step_median("ingest"), one.step_median("ingest")
    if ingest and ingest_one:
        return f"{ingest_one / ingest:.2f}x ingest ({wall:.2f}x wall)", ingest_one / ingest
    return f"{wall:.2f}x wall (no ingest step in the log)", wall


def print_table(context: Context, rows: list[tuple], verdicts: list[dict]) -> None:
    info = machine()
    print(f"\nResults ({info['cores']} cores, {info['memory_gb']} GB RAM, load average "
          f"{' '.join(f'{load:.1f}' for load in info['load_average'])}; duckdb {info['duckdb']}; "
          f"median of {context.sizes.repeat} run(s), range in brackets)")
    header = (f"{'measurement':<58} {'wall s':>22} {'rows/s':>9} {'step s':>13} {'step rows/s':>11} "
              f"{'cores':>9} {'CPU s/Mrow':>10} {'peak MB':>8} {'PSS MB':>8}  ratio")
    print(header)
    print("-" * len(header))
    for figure, verdict, holds in rows:
        wall = f"{figure.median:.1f} [{min(figure.walls):.1f}-{max(figure.walls):.1f}]"
        rate = f"{figure.rows / figure.median:,.0f}" if figure.rows and not figure.stopped_over_memory_cap else "-"
        # the step that makes the rate: a backfill's ingest, the writer's load
        step = next((name for name in ("ingest", "load") if figure.step_median(name)), None)
        step_wall = f"{step} {figure.step_median(step):.1f}" if step else "-"
        step_rate = f"{figure.step_rate(step):,.0f}" if step and figure.step_rate(step) else "-"
        cores = f"{figure.cores_busy:.2f}" if figure.cores_busy is not None else "-"
        if figure.server_cores_busy is not None:
            cores += f"+{figure.server_cores_busy:.2f}"
        flag = {True: "  holds", False: "  MISSED", None: ""}[holds]
        failed = f"  ({figure.failures} run(s) exited non-zero)" if figure.failures else ""
        pss = f"{figure.peak_pss_mb:,.0f}" if figure.peak_pss_mb is not None else "-"
        per_million = (f"{figure.cpu_seconds_per_million_rows:.1f}"
                       if figure.cpu_seconds_per_million_rows is not None else "-")
        print(f"{figure.name:<58} {wall:>22} {rate:>9} {step_wall:>13} {step_rate:>11} {cores:>9} "
              f"{per_million:>10} {figure.peak_mb:>8,.0f} {pss:>8}  {verdict}{flag}{failed}")
    for measurement in ("P1", "P3"):
        if measurement in context.results:
            agreed = context.results[measurement]["agrees_with_baseline"]
            verdict = {True: "equal", False: "DO NOT EQUAL", None: "were not compared (no backfill finished)"}[agreed]
            print(f"{measurement}: Cakupan's published city counts {verdict} the baseline's")
    if "P4" in context.results:
        p4 = context.results["P4"]
        verdict = {True: "are equal", False: "DIFFER", None: "were not compared (a backfill did not finish)"}[
            p4["same_counts_for_all_worker_counts"]]
        once = (f"; all cores is {p4['cores']} here, measured once as the {p4['cores']}-worker run"
                if p4["cores"] <= 2 else "")
        print(f"P4: the published counts of every worker count {verdict}{once}")
    print("\nTargets:")
    for verdict in verdicts:
        print(f"  {verdict['target']:<42} {verdict['measured']:<28} {'holds' if verdict['holds'] else 'MISSED'}")
    print("peak MB: the larger of the command's own max RSS and the sampled RSS sum of its process tree "
          "(the Prefect server of server mode is not in the tree; embedded mode's temporary server is).")
    print("PSS MB: the sampled sum of the process tree's proportional set sizes: memory its processes share "
          "(local workers share their imports with the forkserver they are forked from) counted once.")
    print("step s: median seconds of a backfill's ingest step (from its log: '2/4 Validating and loading' to "
          "'3/4 Rebuilding'), or of the writer's load alone (without process start-up); step rows/s: rows over it.")
    print("cores: CPU seconds of the command and its processes per wall second, + the Prefect server's in server "
          "mode (a 1-worker run is not one core: DuckDB reads, hashes and writes with a thread per core).")
    print("CPU s/Mrow: CPU seconds of the command and all its processes (+ the Prefect server's in server mode) "
          "per million data rows.")


def write_json(context: Context, verdicts: list[dict], quick: bool) -> Path:
    def encode(value):
        if isinstance(value, Figure):
            return value.summary()
        if isinstance(value, dict):
            return {key: encode(item) for key, item in value.items()}
        return value

    path = context.data / ("results-quick.json" if quick else "results.json")
    path.write_text(json.dumps({
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": asdict(context.sizes),
        "results": encode(context.results),
        "targets": verdicts,
    }, indent=2))
    return path
