"""Speed and memory of Cakupan against two plain-DuckDB baselines measured in the same run.

    /work/venv/bin/python benchmarks/run.py [--quick] [--repeat N] [--data DIR] [--only p1,p2,p3,p4,w]

P1  city backfill: `cakupan backfill` of a six-year Kota Malang landing into a fresh
    warehouse, with a Prefect server already running (target: <= 3x the baseline) and
    embedded (no PREFECT_API_URL: Prefect starts a temporary server in the process).
P2  nightly cost against history: one `cakupan nightly` adding one day on a copy of a
    warehouse holding one month, and one holding six years (target: six years <= 1.5x).
P3  province scale: backfill of one year at scale 30 (target: <= 3x the baseline,
    peak memory <= 4 GB).
P4  ingest throughput by workers: P3's backfill with a Prefect server running, with
    CAKUPAN_WORKERS=1, 2 and all cores (measured once where all cores is 1 or 2), as
    throughput against 1 worker (target: 2 workers >= 1.7x); judged on the ingest step,
    timed from the command's log lines, with the wall time's ratio beside it.
W   the single writer's load rate from Parquet: the province landing's enrolments,
    pseudonymised once, loaded into raw.enrolments as the writer does, against a plain
    insert into a bare table (benchmarks/writer.py); no target, it sizes docs/scaling.md.

The baselines, each in a fresh process: the floor, benchmarks/baseline.sql (the published
counts straight from the files, no validation), and the same work, benchmarks/same_work.py
(every rule of the suites as one plain DuckDB pass, HMAC of nik and kpj, the passing rows
written to a DuckDB file, then the floor's counts over them). Every P is reported beside
both, with CPU seconds per million rows (all processes of the command, + the Prefect
server's in server mode). Every backfill's published city counts are compared with the
floor's: two programs that disagree cannot be compared for speed. Landings are generated once per scale and kept in the data folder, where the
results are also written as JSON. Figures are medians of --repeat runs with their range.
Every backfill's and nightly's ingest step ("2/4" to "3/4" in its log) and the rest are
recorded apart, since start-up and the rebuild do not change with the workers.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

BENCHMARKS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CAKUPAN = str(BIN / "cakupan")
PREFECT = str(BIN / "prefect")
BASELINE = str(BENCHMARKS / "baseline.py")
SAME_WORK = str(BENCHMARKS / "same_work.py")
WRITER = str(BENCHMARKS / "writer.py")
# Any fixed key will do: person counts only need the same key across loads.
PII_KEY = "cakupan-benchmark-key-not-for-production"
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024
SERVER_START_TIMEOUT_SECONDS = 180
# How often the process tree's memory is sampled: peaks shorter than this can be missed.
RSS_POLL_SECONDS = 0.1
# A run whose process tree grows past this is stopped: the machine is shared, and a
# benchmark must not push it into swapping or the OOM killer. Twice P3's target.
DEFAULT_MEMORY_CAP_MB = 8192

CITY_START, CITY_END = date(2020, 1, 1), date(2025, 12, 31)
PROVINCE_START, PROVINCE_END = date(2025, 1, 1), date(2025, 12, 31)
# P2: each nightly adds the day after the warehouse's last extract. One month of history
# runs to Monday 2020-02-03, so that the day added is a working day with a typical delta
# (2020-02-04: ~320 rows at scale 1) like the one added to six years (2025-12-31: ~330);
# weekend extracts are empty.
MONTH_END = date(2020, 2, 3)

BACKFILL_RATIO_TARGET = 3.0
# issue 17: against the same work in plain SQL
CITY_SAME_WORK_RATIO_TARGET = 2.0
PROVINCE_SAME_WORK_RATIO_TARGET = 1.5
NIGHTLY_HISTORY_RATIO_TARGET = 1.5
PROVINCE_MEMORY_TARGET_MB = 4096
WORKERS_SPEEDUP_TARGET = 1.7  # P4: ingest throughput of 2 workers against 1


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


# ---------------------------------------------------------------- measuring one process


@dataclass
class Sample:
    """One run of one command."""

    wall_seconds: float
    main_peak_mb: float  # max RSS of the command's own process (kernel's ru_maxrss)
    tree_peak_mb: float  # largest sampled sum of RSS over the process and its descendants
    exit_code: int
    log: str
    stopped_over_memory_cap: bool = False
    # seconds of parts of the run, when known: a backfill's steps from its log
    # (`step_seconds`), the writer's load as timed inside its process
    steps: dict[str, float] = field(default_factory=dict)
    # CPU seconds (user + system) of the process and every descendant it reaped: divided by
    # the wall time, how many cores the run kept busy (what more workers can add to)
    cpu_seconds: float | None = None
    # CPU seconds of the Prefect server meanwhile, when one runs apart (server mode): task
    # runs report to it, and it shares the machine's cores with the workers
    server_cpu_seconds: float | None = None


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _tree(root: int) -> list[int]:
    """The process and its living descendants."""
    children = _children_by_parent()
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, ()))
    return tree


def tree_rss_bytes(root: int) -> int:
    total = 0
    for pid in _tree(root):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
        except OSError:
            pass
    return total


def tree_cpu_seconds(root: int) -> float:
    """CPU used so far by a living process tree and the children it reaped (utime, stime,
    cutime, cstime of /proc/PID/stat): for the Prefect server, which outlives each run."""
    ticks = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


class TreeMemoryPoller(threading.Thread):
    """Samples the RSS of a process group's leader and descendants; kills the group past the cap."""

    def __init__(self, root: int, cap_bytes: int):
        super().__init__(daemon=True)
        self.root = root
        self.cap_bytes = cap_bytes
        self.peak_bytes = 0
        self.over_cap = False
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.wait(RSS_POLL_SECONDS):
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self.root))
            if self.peak_bytes > self.cap_bytes and not self.over_cap:
                self.over_cap = True
                try:
                    os.killpg(self.root, signal.SIGKILL)
                except ProcessLookupError:  # it ended on its own meanwhile
                    pass


def measure(command: list[str], env: dict[str, str], log_path: Path, memory_cap_mb: int,
            server: int | None = None) -> Sample:
    """Run `command` to its end; with `server`, the pid of the Prefect server it talks to,
    also that server's CPU meanwhile."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        cpu_before = _children_cpu_seconds()
        server_before = tree_cpu_seconds(server) if server else None
        started = time.perf_counter()
        # its own process group: what it starts (embedded Prefect server) can be stopped with it
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        poller = TreeMemoryPoller(process.pid, memory_cap_mb * MB)
        poller.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        cpu = _children_cpu_seconds() - cpu_before
        server_cpu = tree_cpu_seconds(server) - server_before if server else None
        poller.finished.set()
        poller.join()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if poller.over_cap:
        print(f"  stopped: its processes passed the memory cap of {memory_cap_mb:,} MB (--memory-cap-mb)")
    return Sample(wall, usage.ru_maxrss / 1024, poller.peak_bytes / MB, process.returncode, str(log_path),
                  poller.over_cap, cpu_seconds=cpu, server_cpu_seconds=server_cpu)


def _children_cpu_seconds() -> float:
    """CPU of this process's reaped children and theirs (the one measured command at a time;
    the Prefect server, a child too, is reaped only at the end)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Figure:
    """Repeated samples of one measurement, summarised."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    rows: int | None = None

    @property
    def walls(self) -> list[float]:
        return [sample.wall_seconds for sample in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak_mb(self) -> float:
        return max(max(sample.main_peak_mb, sample.tree_peak_mb) for sample in self.samples)

    @property
    def cores_busy(self) -> float | None:
        """Median CPU seconds per wall second over the runs."""
        ratios = [sample.cpu_seconds / sample.wall_seconds for sample in self.samples if sample.cpu_seconds is not None]
        return statistics.median(ratios) if ratios else None

    @property
    def server_cores_busy(self) -> float | None:
        ratios = [sample.server_cpu_seconds / sample.wall_seconds
                  for sample in self.samples if sample.server_cpu_seconds is not None]
        return statistics.median(ratios) if ratios else None

    @property
    def cpu_seconds_per_million_rows(self) -> float | None:
        """Median CPU seconds (all processes, + the Prefect server's when apart) per million rows."""
        seconds = [sample.cpu_seconds + (sample.server_cpu_seconds or 0)
                   for sample in self.samples if sample.cpu_seconds is not None]
        return statistics.median(seconds) / self.rows * 1e6 if seconds and self.rows else None

    @property
    def failures(self) -> int:
        return sum(sample.exit_code != 0 for sample in self.samples)

    @property
    def stopped_over_memory_cap(self) -> bool:
        return any(sample.stopped_over_memory_cap for sample in self.samples)

    def step_median(self, step: str) -> float | None:
        """Median seconds of one step over the runs that logged it (None: none did)."""
        seconds = [sample.steps[step] for sample in self.samples if step in sample.steps]
        return statistics.median(seconds) if seconds else None

    def step_rate(self, step: str) -> float | None:
        """Rows per second of that step alone."""
        seconds = self.step_median(step)
        return self.rows / seconds if self.rows and seconds else None

    def summary(self) -> dict:
        steps = sorted({step for sample in self.samples for step in sample.steps})
        return {
            "name": self.name,
            "wall_seconds_median": self.median,
            "wall_seconds_min": min(self.walls),
            "wall_seconds_max": max(self.walls),
            "rows": self.rows,
            "rows_per_second": self.rows / self.median if self.rows else None,
            "steps_seconds_median": {step: self.step_median(step) for step in steps},
            "steps_rows_per_second": {step: self.step_rate(step) for step in steps},
            "peak_rss_mb": self.peak_mb,
            "cores_busy_median": self.cores_busy,
            "cpu_seconds_per_million_rows": self.cpu_seconds_per_million_rows,
            "prefect_server_cores_busy_median": self.server_cores_busy,
            "failed_runs": self.failures,
            "stopped_over_memory_cap": self.stopped_over_memory_cap,
            "samples": [asdict(sample) for sample in self.samples],
        }


# ---------------------------------------------------------------- landings


def landing_for(data: Path, scale: float, start: date, end: date) -> Path:
    """The cached landing of one scale and range, generated on first use."""
    name = f"landing_scale{scale:g}_{start:%Y%m%d}_{end:%Y%m%d}_seed0"
    landing = data / name
    if landing.is_dir():
        return landing
    partial = data / f"{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"generating {name} (once; kept for later runs) ...", flush=True)
    subprocess.run(
        [CAKUPAN, "generate", "--out", str(partial), "--start", start.isoformat(),
         "--end", end.isoformat(), "--scale", f"{scale:g}", "--seed", "0"],
        check=True,
    )
    partial.rename(landing)
    return landing


def data_rows(landing: Path, until: date | None = None) -> int:
    """Data rows (header excluded) of the landing's files dated up to `until`, counted once
    and kept beside the landing."""
    counts_path = landing.with_name(landing.name + ".rows.json")
    if counts_path.is_file():
        counts = json.loads(counts_path.read_text())
    else:
        counts = {path.name: _data_lines(path) for path in sorted(landing.iterdir())}
        counts_path.write_text(json.dumps(counts))
    cutoff = until.strftime("%Y%m%d") if until else "99999999"
    return sum(rows for name, rows in counts.items() if name.split("_")[1][:8] <= cutoff)


def _data_lines(path: Path) -> int:
    """Lines after the header, read in blocks: a province's initial load is ~2 GB."""
    lines, last = 0, b"\n"
    with (gzip.open(path) if path.name.endswith(".gz") else path.open("rb")) as extract:
        while block := extract.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines - 1 + (last != b"\n"))


# ---------------------------------------------------------------- environment and server


def cakupan_env(api_url: str | None, prefect_home: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PREFECT_", "CAKUPAN_"))
    }
    env.update(
        CAKUPAN_PII_KEY=PII_KEY,
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrefectServer:
    """A Prefect server of our own for the run, on a free port with a temporary home."""

    def __init__(self, home: Path, log_path: Path):
        self.home = home
        self.log_path = log_path
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.process: subprocess.Popen | None = None
        self.log = None

    def __enter__(self) -> "PrefectServer":
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        print(f"starting a Prefect server on port {self.port} ...", flush=True)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=cakupan_env(api_url=None, prefect_home=self.home),
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it stops its workers
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Prefect server exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(1)
        self.__exit__()
        raise RuntimeError(f"the Prefect server did not answer within {SERVER_START_TIMEOUT_SECONDS} s")

    def __exit__(self, *exc_info) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log:
            self.log.close()


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
          f"busy{server}, peak {max(sample.main_peak_mb, sample.tree_peak_mb):,.0f} MB, {status}", flush=True)
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


# ---------------------------------------------------------------- the report


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

    if "P1" in context.results:
        p1 = context.results["P1"]
        add(p1["baseline"])
        add(p1["same_work"], f"{p1['same_work'].median / p1['baseline'].median:.2f}x baseline")
        figure, verdict, holds = ratio_row(p1["server"], p1["baseline"], BACKFILL_RATIO_TARGET)
        holds = holds and p1["agrees_with_baseline"] is True and not figure.failures
        add(figure, verdict, holds, "P1 backfill (server) <= 3x baseline")
        same_work_verdict(p1, "server", CITY_SAME_WORK_RATIO_TARGET, "P1 backfill (server)", verdicts)
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
        p3 = context.results["P3"]
        add(p3["baseline"])
        add(p3["same_work"], f"{p3['same_work'].median / p3['baseline'].median:.2f}x baseline")
        figure, verdict, holds = ratio_row(p3["server"], p3["baseline"], BACKFILL_RATIO_TARGET)
        holds = holds and p3["agrees_with_baseline"] is True and not figure.failures
        add(figure, verdict, holds, "P3 backfill (server) <= 3x baseline")
        same_work_verdict(p3, "server", PROVINCE_SAME_WORK_RATIO_TARGET, "P3 backfill (server)", verdicts)
        memory_holds = figure.peak_mb <= PROVINCE_MEMORY_TARGET_MB
        measured = f"{figure.peak_mb:,.0f} MB" + (" (stopped there)" if figure.stopped_over_memory_cap else "")
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
              f"{'cores':>9} {'CPU s/Mrow':>10} {'peak MB':>8}  ratio")
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
        per_million = (f"{figure.cpu_seconds_per_million_rows:.1f}"
                       if figure.cpu_seconds_per_million_rows is not None else "-")
        print(f"{figure.name:<58} {wall:>22} {rate:>9} {step_wall:>13} {step_rate:>11} {cores:>9} "
              f"{per_million:>10} {figure.peak_mb:>8,.0f}  {verdict}{flag}{failed}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller scales (city {QUICK.city_scale:g}, province {QUICK.province_scale:g}), one run each")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default 3; 1 with --quick)")
    parser.add_argument("--data", type=Path, default=BENCHMARKS / ".data",
                        help="folder for generated landings, warehouses, logs and results (default benchmarks/.data)")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated subset of {','.join(MEASUREMENTS)} (default: all)")
    parser.add_argument("--memory-cap-mb", type=int, default=DEFAULT_MEMORY_CAP_MB,
                        help="stop a run whose processes pass this much memory (default %(default)s)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = dataclasses.replace(sizes, repeat=args.repeat)
    chosen = [name.strip().lower() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - MEASUREMENTS.keys()
    if unknown:
        parser.error(f"--only: unknown measurement(s) {', '.join(sorted(unknown))}")

    data = args.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"machine: {info['cores']} cores, {info['memory_gb']} GB RAM, load average "
          f"{' '.join(f'{load:.1f}' for load in info['load_average'])}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cakupan-bench-prefect-") as prefect_home:
        context = Context(data, sizes, data / "logs", Path(prefect_home), args.memory_cap_mb)
        with PrefectServer(Path(prefect_home) / "server", data / "logs" / "prefect-server.log") as server:
            context.api_url, context.server_pid = server.api_url, server.process.pid
            for name in chosen:
                try:
                    MEASUREMENTS[name](context)
                except (RuntimeError, OSError, subprocess.CalledProcessError) as problem:
                    print(f"{name.upper()} could not be measured: {problem}", flush=True)
                    context.results.pop(name.upper(), None)
    rows, verdicts = results_table(context)
    print_table(context, rows, verdicts)
    print(f"\nwritten to {write_json(context, verdicts, args.quick)}")


if __name__ == "__main__":
    main()
