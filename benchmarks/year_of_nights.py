"""P5, a year of nights: 365 consecutive `cakupan nightly` runs on a growing scale-1 landing
(one day delivered before each, the generator's faults on), a Prefect server running.

    .venv/bin/python benchmarks/year_of_nights.py                 # 365 nights, ~1.5 h on 2 cores
    .venv/bin/python benchmarks/year_of_nights.py --nights 10     # a sanity check, ~3 min

After each nightly it records the wall time, the peak memory of the command's processes, the
warehouse's size against the rows loaded so far, the processes the run left (by its TMPDIR),
the Prefect server's open files, what is left in `scratch/` and in the run's TMPDIR, and the
size of `data_docs/`. At the end a backfill over the same landing into a fresh warehouse
must publish the same tables. Targets (issue 16):

- the last 30 nightlies' median wall time <= 1.5x the first 30's (`--nights` below 60: the
  first and last third);
- warehouse growth linear in rows loaded (bytes per row of the second half within 1.5x of
  the first half's);
- nothing left in scratch or temp, and no process, after any run;
- published tables equal to one backfill over the same landing.

The landing is generated once into the data folder (`--data`, default benchmarks/.data) and
reused; results go to `year_of_nights.json` there.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from harness import BENCHMARKS, CAKUPAN, cakupan_env, prefect_server
from landings import data_rows
from sampling import MB, measure

START = date(2025, 1, 1)
MEDIAN_RATIO_TARGET = 1.5
GROWTH_RATIO_TARGET = 1.5
WINDOW = 30
MARTS = ("coverage_city_year", "coverage_sector_year", "coverage_district_year", "employer_compliance")


@dataclass
class Night:
    day: str
    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    peak_mb: float
    rows_loaded_so_far: int
    warehouse_mb: float
    processes_left: int
    server_open_files: int
    scratch_entries: int
    temp_entries: int
    data_docs_mb: float


def source_landing(data: Path, scale: float, nights: int, faults: float) -> Path:
    landing = data / f"year_scale{scale:g}_{nights}_faults{faults:g}_seed0"
    if not landing.is_dir():
        partial = landing.with_name(landing.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        print(f"generating {landing.name} (once; kept for later runs) ...", flush=True)
        subprocess.run([CAKUPAN, "generate", "--out", str(partial), "--start", START.isoformat(),
                        "--end", (START + timedelta(days=nights - 1)).isoformat(), "--scale", f"{scale:g}",
                        "--seed", "0", "--faults", f"{faults:g}"], check=True)
        partial.rename(landing)
    return landing


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / MB if folder.is_dir() else 0.0


def entries(folder: Path) -> int:
    return len(list(folder.iterdir())) if folder.is_dir() else 0


def processes_of_runs(marker: str) -> int:
    """Living processes whose environment holds `marker` (the runs' own TMPDIR: a run and
    whatever it started inherit it; the Prefect server does not)."""
    count = 0
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            count += marker.encode() in environ.read_bytes().split(b"\0")
        except OSError:
            continue
    return count


def published(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(f"select * from mart.{name} order by all").fetchall() for name in MARTS}


def loaded_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select coalesce(sum(rows_loaded), 0) from audit.extract_files "
                           "where status = 'LOADED'").fetchone()[0]


def mb_per_row(nights: list[Night]) -> float:
    """The warehouse's growth per row loaded over these nights (least squares: DuckDB's file
    size moves with checkpoints from night to night); NaN when no rows were loaded."""
    try:
        return statistics.linear_regression(
            [night.rows_loaded_so_far for night in nights], [night.warehouse_mb for night in nights]
        ).slope
    except statistics.StatisticsError:
        return float("nan")


def ratio(later: list[float], earlier: list[float]) -> float:
    return statistics.median(later) / statistics.median(earlier)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--faults", type=float, default=0.01)
    parser.add_argument("--data", type=Path, default=BENCHMARKS / ".data")
    parser.add_argument("--memory-cap-mb", type=int, default=8192)
    options = parser.parse_args()

    source = source_landing(options.data, options.scale, options.nights, options.faults)
    work = options.data / "year_of_nights"
    shutil.rmtree(work, ignore_errors=True)
    landing, warehouse, temp = work / "landing", work / "warehouse" / "cakupan.duckdb", work / "tmp"
    for folder in (landing, temp):
        folder.mkdir(parents=True)
    nights: list[Night] = []
    with prefect_server(work / "prefect-home", work / "logs" / "server.log") as server:
        env = {**cakupan_env(server.api_url, work / "prefect-home"), "TMPDIR": str(temp), "CAKUPAN_SETTLE_SECONDS": "0",
               "CAKUPAN_WORKERS": "1"}
        for number in range(options.nights):
            day = START + timedelta(days=number)
            for path in source.glob(f"*_{day:%Y%m%d}.csv*"):
                shutil.copy2(path, landing / path.name)
            command = [CAKUPAN, "nightly", "--as-of", day.isoformat(), "--landing", str(landing),
                       "--warehouse", str(warehouse)]
            sample = measure(command, env, work / "logs" / f"nightly-{day}.log", options.memory_cap_mb,
                             server.process.pid)
            night = Night(
                day.isoformat(), sample.exit_code, round(sample.wall_seconds, 2), round(sample.cpu_seconds, 2),
                round(sample.tree_peak_mb),
                loaded_rows(warehouse), round(warehouse.stat().st_size / MB, 2),
                processes_of_runs(f"TMPDIR={temp}"),
                len(list(Path(f"/proc/{server.process.pid}/fd").iterdir())),
                entries(warehouse.parent / "scratch"), entries(temp),
                round(folder_mb(warehouse.parent / "data_docs"), 2),
            )
            nights.append(night)
            print(f"  {day}: {night.wall_seconds:.1f} s ({night.cpu_seconds:.1f} s CPU), exit {night.exit_code}, {night.peak_mb:,.0f} MB peak, "
                  f"warehouse {night.warehouse_mb:.1f} MB for {night.rows_loaded_so_far:,} rows, "
                  f"left: {night.scratch_entries} in scratch, {night.temp_entries} in temp; "
                  f"server fds {night.server_open_files}", flush=True)

        last = START + timedelta(days=options.nights - 1)
        clean = work / "clean" / "cakupan.duckdb"
        reference = measure([CAKUPAN, "backfill", "--start", START.isoformat(), "--end", last.isoformat(),
                             "--landing", str(landing), "--warehouse", str(clean)],
                            env, work / "logs" / "backfill.log", options.memory_cap_mb, server.process.pid)
    same_tables = reference.exit_code in (0, 1) and published(warehouse) == published(clean)

    window = min(WINDOW, max(1, options.nights // 3))
    walls = [night.wall_seconds for night in nights]
    median_ratio = ratio(walls[-window:], walls[:window])
    # CPU seconds move less than wall time when the machine is shared: reported beside it
    cpus = [night.cpu_seconds for night in nights]
    half = len(nights) // 2
    growth_first, growth_second = mb_per_row(nights[:half]), mb_per_row(nights[half:])
    growth_ratio = growth_second / growth_first
    debris = [night.day for night in nights if night.scratch_entries or night.temp_entries or night.processes_left]
    summary = {
        "nights": options.nights, "scale": options.scale, "faults": options.faults,
        "rows_in_landing": data_rows(landing),
        f"median_first_{window}_s": statistics.median(walls[:window]),
        f"median_last_{window}_s": statistics.median(walls[-window:]),
        "median_ratio": round(median_ratio, 2), "median_ratio_holds": median_ratio <= MEDIAN_RATIO_TARGET,
        f"median_cpu_first_{window}_s": statistics.median(cpus[:window]),
        f"median_cpu_last_{window}_s": statistics.median(cpus[-window:]),
        "median_cpu_ratio": round(ratio(cpus[-window:], cpus[:window]), 2),
        "bytes_per_row_first_half": round(growth_first * MB, 1),
        "bytes_per_row_second_half": round(growth_second * MB, 1),
        "growth_ratio": round(growth_ratio, 2), "growth_linear": 0 < growth_ratio <= GROWTH_RATIO_TARGET,
        "peak_mb_max": max(night.peak_mb for night in nights),
        "server_open_files_first_last": [nights[0].server_open_files, nights[-1].server_open_files],
        "data_docs_mb_last": nights[-1].data_docs_mb,
        "nights_leaving_debris": debris,
        "failed_nights": [night.day for night in nights if night.exit_code not in (0, 1)],
        "published_equals_backfill": same_tables,
    }
    (options.data / "year_of_nights.json").write_text(
        json.dumps({"summary": summary, "nights": [asdict(night) for night in nights]}, indent=1))
    print(json.dumps(summary, indent=1))
    holds = (summary["median_ratio_holds"] and summary["growth_linear"] and not debris and same_tables
             and not summary["failed_nights"])
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
