"""The measurements P1 to P4 and W (see run.py): each runs the command, the baselines or the
writer, compares what they publish, and records its figures in the run's context."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from harness import BASELINE, CAKUPAN, PII_KEY, SAME_WORK, WRITER, cakupan_env
from landings import CITY_END, CITY_START, PROVINCE_END, PROVINCE_START, data_rows, landing_for
from sampling import Figure, Sample, measure

# P2: each nightly adds the day after the warehouse's last extract. One month of history
# runs to Monday 2020-02-03, so that the day added is a working day with a typical delta
# (2020-02-04: ~320 rows at scale 1) like the one added to six years (2025-12-31: ~330);
# weekend extracts are empty.
MONTH_END = date(2020, 2, 3)


@dataclass(frozen=True)
class Sizes:
    city_scale: float
    province_scale: float
    repeat: int
    embedded: bool  # also measure P1 without a Prefect server
    # Repeats of one measurement stop early once another would pass this many seconds, so
    # that the default run stays under ~25 minutes whatever the machine (at least one run).
    budget_seconds: dict[str, float]


FULL = Sizes(city_scale=1, province_scale=30, repeat=3, embedded=True,
             budget_seconds={"P1": 720, "P2": 300, "P3": 480, "P4": 1200, "W": 300})
QUICK = Sizes(city_scale=0.1, province_scale=1, repeat=1, embedded=False,
              budget_seconds={"P1": 120, "P2": 120, "P3": 120, "P4": 120, "W": 60})


# ---------------------------------------------------------------- agreement with the baseline

COUNT_COLUMNS = ("covered", "covered_formal", "covered_informal", "covered_vulnerable")


def run_baseline(context: Context, landing: Path, label: str, script: str = BASELINE) -> tuple[Sample, list[dict]]:
    counts_path = context.logs / f"{label}.json"
    extra = [PII_KEY] if script == SAME_WORK else []
    sample = measure([sys.executable, script, str(landing), str(counts_path), *extra], os.environ.copy(),
                     context.logs / f"{label}.log", context.memory_cap_mb)
    if sample.exit_code != 0:
        raise RuntimeError(f"the baseline {Path(script).name} failed; see {sample.log}")
    return sample, json.loads(counts_path.read_text())["coverage"]


def cakupan_coverage(warehouse: Path) -> list[dict]:
    """City rows (scope ALL) and sector rows with anyone covered, like the baseline's."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"""
            select year, ref_date::varchar, 'ALL' as scope, {', '.join(COUNT_COLUMNS)}
            from mart.coverage_city_year
            union all
            select year, ref_date::varchar, sector, {', '.join(COUNT_COLUMNS)}
            from mart.coverage_sector_year
            where covered > 0
            order by year, scope
            """
        ).fetchall()
    finally:
        con.close()
    return [dict(zip(("year", "ref_date", "scope", *COUNT_COLUMNS), row)) for row in rows]


def agreement(label: str, baseline: list[dict], warehouse: Path) -> bool:
    """Print the city counts side by side; True when they all agree. Sector rows are
    compared and reported too, but may differ by a person or two: see the note printed."""
    try:
        cakupan = cakupan_coverage(warehouse)
    except duckdb.Error as problem:
        print(f"  {label}: cannot read Cakupan's published tables ({problem}): NOT COMPARABLE")
        return False
    ours = {(row["year"], row["scope"]): row for row in baseline}
    theirs = {(row["year"], row["scope"]): row for row in cakupan}
    city_keys = sorted(key for key in ours.keys() | theirs.keys() if key[1] == "ALL")
    print(f"  {label}: city counts, baseline / cakupan")
    for year, scope in city_keys:
        mine, other = ours.get((year, scope)), theirs.get((year, scope))
        cells = "  ".join(
            f"{column}={mine[column] if mine else '-'}/{other[column] if other else '-'}"
            for column in COUNT_COLUMNS
        )
        print(f"    {year}: {cells}  {'equal' if mine == other else 'DIFFERENT'}")
    sector_keys = {key for key in ours.keys() | theirs.keys() if key[1] != "ALL"}
    differing = sorted(key for key in sector_keys if ours.get(key) != theirs.get(key))
    print(f"    sector rows: {len(sector_keys)} compared, {len(differing)} different"
          + (f", e.g. {differing[:4]} (a person whose two accounts tie on segment and start_date: "
             "the baseline takes the smaller kpj, Cakupan the smaller HMAC of kpj)" if differing else ""))
    return bool(city_keys) and all(ours.get(key) == theirs.get(key) for key in city_keys)


# ---------------------------------------------------------------- the measurements


@dataclass
class Context:
    data: Path
    sizes: Sizes
    logs: Path
    prefect_home: Path
    memory_cap_mb: int
    api_url: str | None = None
    server_pid: int | None = None
    results: dict = field(default_factory=dict)

    def server_for(self, api_url: str | None) -> int | None:
        """The pid of the server a run with this API URL talks to (None: embedded)."""
        return self.server_pid if api_url and api_url == self.api_url else None


# A runbook step's line as the command logs it off a terminal (Prefect's flow-run format):
# "09:27:09.575 | INFO    | Flow run 'efficient-dove' - 2/4 Validating and loading 14 file(s)".
LOG_LINE_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \|")
STEP_MARKS = {"2/4 Validating and loading": "ingest", "3/4 Rebuilding": "rebuild",
              "4/4 Writing": "report", "Finished in state": "end"}


def step_seconds(log_path: Path, wall_seconds: float) -> dict[str, float]:
    """Seconds of the ingest step (2/4: read, validate, pseudonymise, load), of the rebuild
    (3/4), and of all but the ingest ("rest": start-up, discovery, rebuild, report), from
    the timestamps of the command's own log lines; {} when the log does not have them."""
    marks: dict[str, float] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        found = LOG_LINE_TIME.match(line)
        step = next((name for mark, name in STEP_MARKS.items() if mark in line), None)
        if found and step and step not in marks:
            hours, minutes, seconds, millis = map(int, found.groups())
            marks[step] = hours * 3600 + minutes * 60 + seconds + millis / 1000
    steps: dict[str, float] = {}
    for step, until in (("ingest", "rebuild"), ("rebuild", "report"), ("report", "end")):
        if step in marks and until in marks:
            steps[step] = (marks[until] - marks[step]) % 86400  # a run may pass midnight
    if "ingest" in steps:
        steps["rest"] = max(0.0, wall_seconds - steps["ingest"])
    return steps


def backfill(context: Context, landing: Path, start: date, end: date, warehouse: Path,
             api_url: str | None, label: str, home: Path | None = None, workers: int | None = None) -> Sample:
    """One `cakupan backfill` into a fresh warehouse; with `workers`, that many (CAKUPAN_WORKERS,
    which --workers also reads), else the command's default (all cores)."""
    shutil.rmtree(warehouse.parent, ignore_errors=True)
    command = [CAKUPAN, "backfill", "--start", start.isoformat(), "--end", end.isoformat(),
               "--landing", str(landing), "--warehouse", str(warehouse)]
    env = cakupan_env(api_url, home or context.prefect_home)
    if workers is not None:
        env["CAKUPAN_WORKERS"] = str(workers)
    sample = measure(command, env, context.logs / f"{label}.log", context.memory_cap_mb, context.server_for(api_url))
    sample.steps = step_seconds(Path(sample.log), sample.wall_seconds)
    status = "ok" if sample.exit_code == 0 else f"EXIT {sample.exit_code}, see {sample.log}"
    steps = (f", ingest {sample.steps['ingest']:.1f} s + rest {sample.steps['rest']:.1f} s"
             if "ingest" in sample.steps else "")
    server = (f" (+ {sample.server_cpu_seconds / sample.wall_seconds:.2f} the Prefect server)"
              if sample.server_cpu_seconds is not None else "")
    print(f"  {label}: {sample.wall_seconds:.1f} s{steps}, {sample.cpu_seconds / sample.wall_seconds:.2f} cores "
          f"busy{server}, peak {max(sample.main_peak_mb, sample.tree_peak_mb):,.0f} MB "
          f"(PSS {sample.tree_peak_pss_mb or 0:,.0f} MB), {status}", flush=True)
    return sample


def compare_backfills(context: Context, landing: Path, start: date, end: date, scale: float,
                      prefix: str, modes: dict[str, str | None]) -> tuple[Figure, Figure, dict[str, Figure], bool | None]:
    """Both baselines and Cakupan backfill (per Prefect mode), interleaved repeat by repeat;
    and whether every finished backfill's city counts (and the same work's) equal the
    floor's (None: none finished)."""
    rows = data_rows(landing, end)
    baseline_figure = Figure(f"{prefix} baseline (plain DuckDB)", rows=rows)
    same_work_figure = Figure(f"{prefix} same work in plain DuckDB", rows=rows)
    backfill_figures = {mode: Figure(f"{prefix} cakupan backfill, {mode}", rows=rows) for mode in modes}
    agreed: bool | None = None
    started = time.monotonic()
    for repeat in range(context.sizes.repeat):
        if repeat and not within_budget(context, prefix, started, repeat):
            break
        sample, counts = run_baseline(context, landing, f"{prefix}-baseline-{repeat}")
        baseline_figure.samples.append(sample)
        print(f"  {prefix} baseline #{repeat + 1}: {sample.wall_seconds:.1f} s, peak {sample.main_peak_mb:,.0f} MB",
              flush=True)
        sample, same_counts = run_baseline(context, landing, f"{prefix}-same-work-{repeat}", SAME_WORK)
        same_work_figure.samples.append(sample)
        # city rows: sector rows may differ by a tie broken on kpj here and on its HMAC there
        same_city = [row for row in same_counts if row["scope"] == "ALL"] == [row for row in counts if row["scope"] == "ALL"]
        print(f"  {prefix} same work #{repeat + 1}: {sample.wall_seconds:.1f} s, peak {sample.main_peak_mb:,.0f} MB"
              f"{'' if same_city else ', its city counts DIFFER from the floor’s'}", flush=True)
        agreed = same_city and agreed is not False
        for mode, api_url in modes.items():
            warehouse = context.data / "warehouses" / f"{prefix}-{mode}" / "cakupan.duckdb"
            home = context.prefect_home / "embedded" if api_url is None else None
            sample = backfill(context, landing, start, end, warehouse, api_url,
                              f"{prefix}-backfill-{mode}-{repeat}", home)
            backfill_figures[mode].samples.append(sample)
            if sample.stopped_over_memory_cap:
                continue
            equal = agreement(f"{prefix} {mode} #{repeat + 1} (scale {scale:g})", counts, warehouse)
            agreed = equal and agreed is not False
        if any(figure.stopped_over_memory_cap for figure in backfill_figures.values()):
            print(f"  {prefix}: no more repeats: a run passed the memory cap, and another would too")
            break
    return baseline_figure, same_work_figure, backfill_figures, agreed


def within_budget(context: Context, prefix: str, started: float, done: int) -> bool:
    """Whether one more repeat, as long as the average one so far, fits the measurement's budget."""
    elapsed = time.monotonic() - started
    budget = context.sizes.budget_seconds[prefix]
    if elapsed + elapsed / done <= budget:
        return True
    print(f"  {prefix}: stopping after {done} run(s): another would pass its budget of {budget:.0f} s")
    return False


def city_backfill(context: Context) -> None:
    landing = landing_for(context.data, context.sizes.city_scale, CITY_START, CITY_END)
    print(f"\nP1 city backfill: {landing.name}", flush=True)
    modes = {"server": context.api_url, **({"embedded": None} if context.sizes.embedded else {})}
    baseline_figure, same_work_figure, figures, agreed = compare_backfills(
        context, landing, CITY_START, CITY_END, context.sizes.city_scale, "P1", modes,
    )
    context.results["P1"] = {
        "landing": landing.name,
        "baseline": baseline_figure,
        "same_work": same_work_figure,
        **figures,
        "agrees_with_baseline": agreed,
    }


def nightly_against_history(context: Context) -> None:
    landing = landing_for(context.data, context.sizes.city_scale, CITY_START, CITY_END)
    print(f"\nP2 nightly cost against history: {landing.name}", flush=True)
    histories = {"one month": MONTH_END, "six years": CITY_END - timedelta(days=1)}
    prepared: dict[str, Path] = {}
    figures: dict[str, Figure] = {}
    for history, last_loaded in histories.items():
        slug = history.replace(" ", "-")
        prepared[history] = context.data / "warehouses" / f"P2-{slug}-prepared" / "cakupan.duckdb"
        sample = backfill(context, landing, CITY_START, last_loaded, prepared[history], context.api_url,
                          f"P2-prepare-{slug}")
        if sample.exit_code != 0:
            raise RuntimeError(f"could not prepare the {history} warehouse; see {sample.log}")
        as_of = last_loaded + timedelta(days=1)
        added = data_rows(landing, as_of) - data_rows(landing, last_loaded)
        figures[history] = Figure(f"P2 cakupan nightly adding {as_of}, {history} loaded", rows=added)
    # one month and six years alternate, so that a change in the machine's load hits both
    started = time.monotonic()
    for repeat in range(context.sizes.repeat):
        if repeat and not within_budget(context, "P2", started, repeat):
            break
        for history, last_loaded in histories.items():
            slug = history.replace(" ", "-")
            warehouse = context.data / "warehouses" / f"P2-{slug}-copy" / "cakupan.duckdb"
            shutil.rmtree(warehouse.parent, ignore_errors=True)
            shutil.copytree(prepared[history].parent, warehouse.parent,
                            ignore=shutil.ignore_patterns("*.lock", "report"))
            as_of = last_loaded + timedelta(days=1)
            command = [CAKUPAN, "nightly", "--as-of", as_of.isoformat(),
                       "--landing", str(landing), "--warehouse", str(warehouse)]
            sample = measure(command, cakupan_env(context.api_url, context.prefect_home),
                             context.logs / f"P2-nightly-{slug}-{repeat}.log", context.memory_cap_mb,
                             context.server_pid)
            sample.steps = step_seconds(Path(sample.log), sample.wall_seconds)
            figures[history].samples.append(sample)
            print(f"  P2 nightly, {history} #{repeat + 1}: {sample.wall_seconds:.1f} s"
                  f"{'' if sample.exit_code == 0 else f', EXIT {sample.exit_code}, see {sample.log}'}", flush=True)
    context.results["P2"] = {"landing": landing.name, **figures}


def province_backfill(context: Context) -> None:
    landing = landing_for(context.data, context.sizes.province_scale, PROVINCE_START, PROVINCE_END)
    print(f"\nP3 province backfill: {landing.name}", flush=True)
    baseline_figure, same_work_figure, figures, agreed = compare_backfills(
        context, landing, PROVINCE_START, PROVINCE_END, context.sizes.province_scale, "P3",
        {"server": context.api_url},
    )
    context.results["P3"] = {
        "landing": landing.name,
        "baseline": baseline_figure,
        "same_work": same_work_figure,
        "server": figures["server"],
        "agrees_with_baseline": agreed,
    }


def all_cores() -> int:
    """The command's default worker count: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def workers_label(workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}" + (" (all cores)" if workers == all_cores() else "")


def ingest_by_workers(context: Context) -> None:
    """P4 on P3's province landing: ~18M rows, so ingest outweighs the fixed costs (the
    command's start-up, and within the ingest step each worker process's own imports of
    GX and Prefect, several seconds); both shapes of work are in it (a 13M-row initial
    extract cut in one part per worker, a year of daily deltas grouped in slices); and P3
    has generated it already. At --quick's scale 1 (611k rows) those fixed costs weigh
    as much as the work: the quick ratio checks the harness, not the target."""
    landing = landing_for(context.data, context.sizes.province_scale, PROVINCE_START, PROVINCE_END)
    # all cores is measured once, also when it is 1 or 2
    counts = sorted({1, 2, all_cores()})
    print(f"\nP4 ingest throughput by workers ({', '.join(map(str, counts))}; this machine has "
          f"{all_cores()} cores): {landing.name}", flush=True)
    rows = data_rows(landing, PROVINCE_END)
    figures = {workers: Figure(f"P4 cakupan backfill, {workers_label(workers)}", rows=rows) for workers in counts}
    warehouses = {workers: context.data / "warehouses" / f"P4-{workers}-workers" / "cakupan.duckdb"
                  for workers in counts}
    started = time.monotonic()
    for repeat in range(context.sizes.repeat):
        if repeat and not within_budget(context, "P4", started, repeat):
            break
        # worker counts alternate, so that a change in the machine's load hits them all
        for workers in counts:
            sample = backfill(context, landing, PROVINCE_START, PROVINCE_END, warehouses[workers],
                              context.api_url, f"P4-backfill-{workers}-workers-{repeat}", workers=workers)
            figures[workers].samples.append(sample)
    context.results["P4"] = {
        "landing": landing.name,
        "cores": all_cores(),
        "by_workers": figures,
        "same_counts_for_all_worker_counts": same_published_counts(list(warehouses.values())),
    }


def same_published_counts(warehouses: list[Path]) -> bool | None:
    """The published tables must not depend on the worker count (None: a run did not finish)."""
    try:
        counts = [cakupan_coverage(warehouse) for warehouse in warehouses]
    except duckdb.Error:
        return None
    return all(count == counts[0] for count in counts)


def writer_load_rate(context: Context) -> None:
    """W: the enrolments of P3's province landing (~600k rows a unit of scale, ~18M at
    30), pseudonymised into Parquet once (kept beside the landing), then loaded by the
    writer and by the floor, alternating, each in a fresh process and warehouse
    (benchmarks/writer.py)."""
    landing = landing_for(context.data, context.sizes.province_scale, PROVINCE_START, PROVINCE_END)
    print(f"\nW writer load rate from Parquet: {landing.name}", flush=True)
    prepared = landing.with_name(landing.name + ".writer")
    env = cakupan_env(None, context.prefect_home)
    if not (prepared / "prepared.json").is_file():
        print("  pseudonymising its enrolments into Parquet (once; kept for later runs) ...", flush=True)
        shutil.rmtree(prepared, ignore_errors=True)
        subprocess.run([sys.executable, WRITER, "prepare", str(landing), str(prepared)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    rows = json.loads((prepared / "prepared.json").read_text())["rows"]
    modes = {"cakupan": [], "floor": ["--floor"]}
    figures = {
        "cakupan": Figure("W writer: load_chunk into raw.enrolments", rows=rows),
        "floor": Figure("W floor: plain DuckDB insert, bare table", rows=rows),
    }
    started = time.monotonic()
    for repeat in range(context.sizes.repeat):
        if repeat and not within_budget(context, "W", started, repeat):
            break
        for mode, flags in modes.items():
            warehouse = context.data / "warehouses" / f"W-{mode}" / "cakupan.duckdb"
            shutil.rmtree(warehouse.parent, ignore_errors=True)
            timing = context.logs / f"W-{mode}-{repeat}.json"
            sample = measure([sys.executable, WRITER, "load", str(prepared), str(warehouse), str(timing), *flags],
                             env, context.logs / f"W-{mode}-{repeat}.log", context.memory_cap_mb)
            if sample.exit_code == 0:
                loaded = json.loads(timing.read_text())
                if loaded["rows"] != rows:
                    raise RuntimeError(f"W {mode}: loaded {loaded['rows']:,} rows of {rows:,}; see {sample.log}")
                sample.steps = {"load": loaded["load_seconds"]}
            figures[mode].samples.append(sample)
            load = f"load {sample.steps['load']:.1f} s" if sample.steps else f"EXIT {sample.exit_code}, see {sample.log}"
            print(f"  W {mode} #{repeat + 1}: {load} ({sample.wall_seconds:.1f} s with start-up), "
                  f"peak {max(sample.main_peak_mb, sample.tree_peak_mb):,.0f} MB", flush=True)
    context.results["W"] = {"landing": landing.name, **figures}


MEASUREMENTS = {"p1": city_backfill, "p2": nightly_against_history, "p3": province_backfill,
                "p4": ingest_by_workers, "w": writer_load_rate}
