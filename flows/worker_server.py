"""The forkserver that local worker processes are forked from, its imports done once.

A worker process needs Prefect's task engine, GX, DuckDB and cakupan's stages: seconds of
imports (GX alone 3.4 s). Spawned, every worker of every run paid them again, all at once at
the start of the ingest. The forkserver imports them once, and can be started before the run
does its own start-up (`start_worker_server`, called by the command), so they are done by the
time the first slice is submitted; each worker is then a fork of it, ready at once.

No Prefect import here: the command starts the server before it imports Prefect. The command
also stops it at its end (`stop_worker_server`), and so reaps it: its CPU, and its workers',
count as the command's (getrusage of whoever waits for the command).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import signal

# What a worker runs a slice with; importing them starts no thread (forking is then safe).
WORKER_MODULES = [
    "cakupan.flows.tasks.ingest",  # Prefect's task engine and the stages before the load
    "cakupan.ingest.validate.suites",  # GX, duckdb-engine
    "cakupan.ingest.validate.data_docs",
    "prefect.task_engine",
    # a task's context names its flow, which a worker then imports
    "cakupan.flows.backfill",
    "cakupan.flows.nightly",
]


def start_worker_server() -> str | None:
    """Start the forkserver, unless running; returns at once while it imports WORKER_MODULES.
    None, or why it cannot run: workers are then spawned, each importing for itself. (Its
    socket lives in $TMPDIR, and Python 3.11 gives up on a path longer than AF_UNIX allows.)"""
    multiprocessing.set_forkserver_preload(WORKER_MODULES)
    try:
        multiprocessing.forkserver.ensure_running()
    except OSError as error:
        return f"the forkserver cannot start ({error})"
    return None


def stop_worker_server() -> None:
    """End the forkserver this process started, if any, and reap it. Its workers have ended with
    their pool, and it holds nothing to save: it is killed (a clean exit of a process with GX
    imported takes a second). multiprocessing keeps its pid and its pipe private."""
    server = multiprocessing.forkserver._forkserver
    pid, alive = server._forkserver_pid, server._forkserver_alive_fd
    if pid is None:
        return
    server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None
    os.close(alive)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
