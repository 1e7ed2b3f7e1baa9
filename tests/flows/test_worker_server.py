"""Local workers are forked from a forkserver that has their imports done; each takes the run's
environment, not the one the server was started with; the command's server is reaped at its end.
(That runs use it, and that a worker ends with its run: tests/flows/test_workers.py.)"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from cakupan.config import WorkerSettings
from cakupan.flows.runner import slice_runner, start_worker
from cakupan.flows.worker_server import (
    WORKER_MODULES,
    start_worker_server,
    stop_worker_server,
)
from tests.support import child_processes

MARK = "CAKUPAN_TEST_FORKSERVER_MARK"


# Asked by builtins.eval, so that a worker needs to import nothing (not even this module) to
# answer: whatever it has, it had before.
WHAT_A_WORKER_HAS = (
    f'{{"gx": "great_expectations" in __import__("sys").modules, "parent": __import__("os").getppid(), '
    f'"mark": __import__("os").environ.get("{MARK}")}}'
)


def _server_processes() -> set[int]:
    return {pid for pid in child_processes(os.getpid())
            if b"multiprocessing.forkserver" in open(f"/proc/{pid}/cmdline", "rb").read()}


def _ask_a_worker() -> dict:
    """What a worker has, in a pool made as the runner makes it (flows/runner.py: LocalWorkers)."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"), initializer=start_worker,
                               initargs=(dict(os.environ),))
    with pool:
        return pool.submit(eval, WHAT_A_WORKER_HAS).result()


def test_a_worker_is_forked_with_gx_imported_and_takes_the_runs_environment(monkeypatch):
    stop_worker_server()  # an earlier test's server: this one starts with the mark set
    monkeypatch.setenv(MARK, "from when the server started")
    start_worker_server()
    (server,) = _server_processes()
    monkeypatch.delenv(MARK)

    seen = _ask_a_worker()
    assert seen["gx"], "the worker imported GX itself"
    assert seen["parent"] == server
    assert seen["mark"] is None, "the worker kept the environment the server was started with"

    monkeypatch.setenv(MARK, "this run's")
    assert _ask_a_worker()["mark"] == "this run's"


def test_stopping_the_server_ends_and_reaps_it_even_mid_import():
    stop_worker_server()
    start_worker_server()  # importing GX for seconds: stopped before it is done
    (server,) = _server_processes()
    started = time.monotonic()
    stop_worker_server()
    assert time.monotonic() - started < 5
    assert server not in child_processes(os.getpid()), "the server is left running, or a zombie"
    stop_worker_server()  # nothing to stop: returns


def test_the_server_ends_with_the_runs_workers_so_that_the_rebuild_has_its_memory():
    stop_worker_server()
    with slice_runner(WorkerSettings(workers=2, dask_address=None)):
        (server,) = _server_processes()
    assert _server_processes() == set()
    assert server not in child_processes(os.getpid()), "a zombie"


def test_the_servers_socket_folder_is_removed_at_its_stop_or_by_the_next_start_after_a_kill(short_tmpdir):
    stop_worker_server()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    killed = short_tmpdir / f"cakupan-forkserver-{ended.stdout.strip()}-x1y2z3"  # its pid has no process now
    killed.mkdir()
    (killed / "listener-abc").touch()
    running = short_tmpdir / f"cakupan-forkserver-{os.getppid()}-a1b2c3"  # a running process's
    stranger = short_tmpdir / "pymp-a1b2c3"  # not a server's
    running.mkdir()
    stranger.mkdir()
    tempfile.tempdir, before = str(short_tmpdir), tempfile.tempdir
    try:
        start_worker_server()
        (own,) = set(short_tmpdir.iterdir()) - {running, stranger}
        assert own.name.startswith(f"cakupan-forkserver-{os.getpid()}-") and own.stat().st_mode & 0o777 == 0o700
        stop_worker_server()
        assert sorted(short_tmpdir.iterdir()) == sorted([running, stranger])
    finally:
        stop_worker_server()
        tempfile.tempdir = before


def test_a_process_that_exits_without_stopping_its_server_removes_the_socket_folder(short_tmpdir):
    started = subprocess.run(
        [sys.executable, "-c", "from cakupan.flows.worker_server import start_worker_server; "
                               "assert start_worker_server() is None"],
        env={**os.environ, "TMPDIR": str(short_tmpdir)}, capture_output=True, text=True,
    )
    assert started.returncode == 0, started.stderr
    assert list(short_tmpdir.iterdir()) == []


def test_the_preloaded_modules_start_no_thread_so_that_forking_them_is_safe():
    imports = "; ".join(f"import {module}" for module in WORKER_MODULES)
    threads = subprocess.run(
        [sys.executable, "-c", f"{imports}; import threading; print(threading.active_count())"],
        capture_output=True, text=True, check=True,
    )
    assert threads.stdout.strip() == "1", threads.stdout + threads.stderr
