"""Slices prepared by local worker processes or on a real Dask cluster (a scheduler and two
workers started with the `dask` command on 127.0.0.1) publish the same tables as one
worker; a killed worker fails the run naming its files, and --resume completes it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cakupan.warehouse.connection import connect
from tests.support import TEST_SECRET, Command, worker_processes

DASK = str(Path(sys.executable).with_name("dask"))
MARTS = ("coverage_city_year", "coverage_sector_year", "coverage_district_year", "employer_compliance")
START, END = "2025-03-01", "2025-03-12"


def published(warehouse: Path) -> dict[str, list[tuple]]:
    with connect(warehouse, read_only=True) as con:
        return {name: con.execute(f"select * from mart.{name} order by all").fetchall() for name in MARTS}


def loaded_files(warehouse: Path) -> dict[str, int]:
    """LOADED files and their rows_loaded, after checking raw.* holds exactly those rows."""
    with connect(warehouse, read_only=True) as con:
        audit = dict(con.execute(
            "select file_name, rows_loaded from audit.extract_files where status = 'LOADED'"
        ).fetchall())
        raw = dict(con.execute(
            "select file_name, count(*) from (select file_name from raw.employers union all "
            "select file_name from raw.enrolments) group by 1"
        ).fetchall())
    assert {name: rows for name, rows in raw.items()} == {name: rows for name, rows in audit.items() if rows}
    return audit


def backfill(command: Command, landing: Path, warehouse: Path, *options: str, env: dict | None = None,
             wait: bool = True, resume: bool = False):
    args = ["backfill", "--start", START, "--end", END, "--landing", landing, "--warehouse", warehouse,
            *options, *(["--resume"] if resume else [])]
    if not wait:
        return command.start(*args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    return command(*args, env=env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DaskCluster:
    """A Dask scheduler and workers, each a process of its own started with the `dask` command."""

    def __init__(self, root: Path, worker_env: dict, scheduler_env: dict):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.root = root
        common = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "false"}
        self.scheduler = self._start(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
             "--no-dashboard"], {**common, **scheduler_env}, "scheduler")
        worker_env = {name: value for name, value in {**common, **worker_env}.items() if value is not None}
        self.workers = [
            self._start([DASK, "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                         "--name", f"worker-{n}", "--local-directory", str(root / f"worker-{n}")],
                        worker_env, f"worker-{n}")
            for n in range(2)
        ]
        self._wait_for_workers(2)

    def _start(self, args: list[str], env: dict, name: str) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("w")
        return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def _wait_for_workers(self, count: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with self.client() as client:
                    client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                time.sleep(0.5)
        raise AssertionError(f"{count} Dask workers not up within {seconds} s: see {self.root}")

    def stop(self, stop_process_group) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                stop_process_group(process, signal.SIGTERM, grace_seconds=10)


@pytest.fixture
def dask_cluster(tmp_path, stop_started_process):
    """Starts a cluster: `dask_cluster(worker_env={}, scheduler_env={})`; stopped after the test."""
    started: list[DaskCluster] = []

    def start(worker_env: dict | None = None, scheduler_env: dict | None = None) -> DaskCluster:
        root = tmp_path / f"dask-{len(started)}"
        root.mkdir()
        started.append(DaskCluster(root, {"CAKUPAN_PII_KEY": TEST_SECRET, **(worker_env or {})}, scheduler_env or {}))
        return started[-1]

    yield start
    for cluster in started:
        cluster.stop(stop_started_process)


def test_tables_are_the_same_for_one_two_default_workers_and_dask(cakupan_command, landing, tmp_path, dask_cluster):
    one = backfill(cakupan_command, landing, tmp_path / "one" / "w.duckdb", "--workers", "1")
    assert one.returncode == 0, one.stderr
    expected = published(tmp_path / "one" / "w.duckdb")
    assert all(expected.values())

    two = backfill(cakupan_command, landing, tmp_path / "two" / "w.duckdb", "--workers", "2")
    default = backfill(cakupan_command, landing, tmp_path / "default" / "w.duckdb", env={"CAKUPAN_WORKERS": None})
    # a $TMPDIR too long for the forkserver's socket: the workers are spawned instead, and say so
    long_tmpdir = tmp_path / ("t" * 100)
    long_tmpdir.mkdir()
    spawned = backfill(cakupan_command, landing, tmp_path / "spawned" / "w.duckdb", "--workers", "2",
                       env={"TMPDIR": str(long_tmpdir)})
    assert "local workers are spawned" in " ".join(spawned.stderr.split()), spawned.stderr
    cluster = dask_cluster()
    on_dask = backfill(cakupan_command, landing, tmp_path / "dask" / "w.duckdb", "--dask-address", cluster.address)
    for run, name in [(two, "two"), (default, "default"), (spawned, "spawned"), (on_dask, "dask")]:
        assert run.returncode == 0, f"{name}: {run.stderr}"
        assert published(tmp_path / name / "w.duckdb") == expected, name
        assert len(loaded_files(tmp_path / name / "w.duckdb")) == 24

    with cluster.client() as client:  # the slices were prepared by the cluster's workers
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert sum(executed.values()) >= 2, f"the employers and enrolments slices did not run on the cluster: {executed}"
    assert not list((tmp_path / "dask" / "scratch").glob("*/*")), "the run's Parquet is cleaned up"


def test_a_killed_dask_worker_fails_the_run_naming_its_files_and_resume_completes(
    cakupan_command, landing, tmp_path, dask_cluster
):
    # No second try on another worker: the kill must show as the run's failure.
    cluster = dask_cluster(scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    warehouse = tmp_path / "w" / "w.duckdb"
    run = backfill(cakupan_command, landing, warehouse, "--dask-address", cluster.address, wait=False)
    victim = None
    with cluster.client() as client:
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline and run.poll() is None:
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy:
                name = client.scheduler_info()["workers"][busy[0]]["name"]
                victim = cluster.workers[int(name.rsplit("-", 1)[1])]
                os.kill(victim.pid, signal.SIGKILL)
            time.sleep(0.02)
    assert victim is not None, "no worker was ever busy"
    stdout, stderr = run.communicate(timeout=300)
    words = " ".join(stderr.split())
    assert run.returncode == 1, stdout + stderr
    assert "a worker failed on" in words and "KilledWorker" in words and "Traceback" not in words
    named = words.split("a worker failed on", 1)[1]
    assert ".csv" in named
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select state from audit.runs").fetchall() == [("FAILED",)]
    partly = loaded_files(warehouse)  # nothing half-loaded: raw.* holds exactly the LOADED files' rows
    assert len(partly) < 24

    # the other worker finishes it
    resumed = backfill(cakupan_command, landing, warehouse, "--dask-address", cluster.address, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    assert len(loaded_files(warehouse)) == 24
    reference = backfill(cakupan_command, landing, tmp_path / "ref" / "w.duckdb", "--workers", "1")
    assert reference.returncode == 0, reference.stderr
    assert published(warehouse) == published(tmp_path / "ref" / "w.duckdb")


def test_a_killed_local_worker_fails_the_run_and_resume_completes(cakupan_command, landing, tmp_path):
    warehouse = tmp_path / "w" / "w.duckdb"
    run = backfill(cakupan_command, landing, warehouse, "--workers", "2", wait=False)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while not workers and time.monotonic() < deadline and run.poll() is None:
        workers = worker_processes(run.pid)
        time.sleep(0.02)
    assert workers, "the run started no worker process"
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=300)
    words = " ".join(stderr.split())
    assert run.returncode == 1, stdout + stderr
    assert "a worker failed on" in words and ".csv" in words and "Traceback" not in words
    assert len(loaded_files(warehouse)) < 24

    resumed = backfill(cakupan_command, landing, warehouse, "--workers", "2", resume=True)
    assert resumed.returncode == 0, resumed.stderr
    assert len(loaded_files(warehouse)) == 24


def test_a_killed_run_takes_its_worker_processes_with_it(embedded_command, landing, tmp_path):
    # embedded Prefect: a run killed holding the shared server's writer slot would hold it until its lease ends
    run = backfill(embedded_command, landing, tmp_path / "w" / "w.duckdb", "--workers", "2", wait=False)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline and run.poll() is None:
        workers = worker_processes(run.pid)
        time.sleep(0.02)
    assert workers, "the run started no worker process"
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived its run"


def test_an_unreachable_dask_address_exits_2_before_any_work(cakupan_command, landing, tmp_path):
    warehouse = tmp_path / "w" / "w.duckdb"
    result = backfill(cakupan_command, landing, warehouse, "--dask-address", f"tcp://127.0.0.1:{_free_port()}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--dask-address" in lines[0] and "no Dask scheduler answers" in lines[0]
    assert not warehouse.parent.exists()


def test_a_dask_worker_without_the_key_fails_the_run_and_stores_nothing_raw(
    cakupan_command, landing, tmp_path, dask_cluster
):
    cluster = dask_cluster(worker_env={"CAKUPAN_PII_KEY": None})
    warehouse = tmp_path / "w" / "w.duckdb"
    result = backfill(cakupan_command, landing, warehouse, "--dask-address", cluster.address)
    words = " ".join(result.stderr.split())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CAKUPAN_PII_KEY is not set" in words and "Traceback" not in words
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from raw.enrolments").fetchone() == (0,)
        assert con.execute(
            "select count(*) from audit.extract_files where status = 'LOADED' and kind = 'enrolments'"
        ).fetchone() == (0,)
    assert not list((warehouse.parent / "scratch").rglob("*.parquet"))


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_worker_count_is_refused_in_one_line(cakupan_command, landing, tmp_path, value):
    result = backfill(cakupan_command, landing, tmp_path / "w.duckdb", env={"CAKUPAN_WORKERS": value})
    assert result.returncode == 2
    assert "CAKUPAN_WORKERS" in result.stderr or "--workers" in result.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_raw_rows_staged_on_dask_workers_killed_with_their_run_are_removed_by_the_next_run(
    embedded_command, landing, tmp_path, dask_cluster
):
    from tests.faults.test_scratch import leftovers, staged_rows

    tmpdir = tmp_path / "worker-tmp"
    tmpdir.mkdir()
    cluster = dask_cluster(worker_env={"TMPDIR": str(tmpdir)})
    warehouse = tmp_path / "w" / "w.duckdb"
    # embedded Prefect: a run killed holding the shared server's writer slot would hold it until its lease ends
    run = backfill(embedded_command, landing, warehouse, "--dask-address", cluster.address, wait=False)
    deadline = time.monotonic() + 300
    while not staged_rows(warehouse.parent, tmpdir) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.01)
    for process in [run, *cluster.workers]:  # the run and the machines preparing its slices all die at once
        os.kill(process.pid, signal.SIGKILL)
    run.communicate()
    for worker in cluster.workers:
        worker.wait()
    staged = staged_rows(warehouse.parent, tmpdir)
    assert staged, "the kill came before or after preparation"
    assert all(path.is_relative_to(warehouse.parent / "scratch") for path in staged), staged

    again = backfill(embedded_command, landing, warehouse, "--workers", "1", env={"TMPDIR": str(tmpdir)})
    assert again.returncode == 0, again.stderr
    assert len(loaded_files(warehouse)) == 24
    assert leftovers(warehouse, tmpdir) == []
