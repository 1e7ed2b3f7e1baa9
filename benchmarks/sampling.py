"""Measuring one command: wall time, the peak memory of its process tree (sampled, with a
cap that stops it), the CPU of its processes; and a measurement's repeated samples summarised."""

from __future__ import annotations

import os
import resource
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024
# How often the process tree's memory is sampled: peaks shorter than this can be missed.
RSS_POLL_SECONDS = 0.1
# PSS is sampled every this many polls: reading smaps_rollup walks a process's page tables, and
# ten times a second, over a province backfill's processes, it kept a third of a core busy.
PSS_POLL_EVERY = 10


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
    # largest sampled sum of PSS over the process tree: memory shared by processes (forked
    # workers share their imports with the forkserver) counted once, which the RSS sum is not
    tree_peak_pss_mb: float | None = None


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


def tree_pss_bytes(root: int) -> int:
    """Sum of the proportional set sizes: a page shared by n processes counts 1/n in each."""
    total = 0
    for pid in _tree(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0)
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
        self.peak_pss_bytes = 0
        self.over_cap = False
        self.finished = threading.Event()

    def run(self) -> None:
        polls = 0
        while not self.finished.wait(RSS_POLL_SECONDS):
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self.root))
            if polls % PSS_POLL_EVERY == 0:
                self.peak_pss_bytes = max(self.peak_pss_bytes, tree_pss_bytes(self.root))
            polls += 1
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
                  poller.over_cap, cpu_seconds=cpu, server_cpu_seconds=server_cpu,
                  tree_peak_pss_mb=poller.peak_pss_bytes / MB)


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
    def peak_pss_mb(self) -> float | None:
        """The largest peak PSS sum of the process tree over the runs (None: not sampled)."""
        peaks = [sample.tree_peak_pss_mb for sample in self.samples if sample.tree_peak_pss_mb is not None]
        return max(peaks) if peaks else None

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
            "peak_pss_mb": self.peak_pss_mb,
            "cores_busy_median": self.cores_busy,
            "cpu_seconds_per_million_rows": self.cpu_seconds_per_million_rows,
            "prefect_server_cores_busy_median": self.server_cores_busy,
            "failed_runs": self.failures,
            "stopped_over_memory_cap": self.stopped_over_memory_cap,
            "samples": [asdict(sample) for sample in self.samples],
        }
