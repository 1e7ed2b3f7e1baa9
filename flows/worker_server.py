"""The forkserver that local worker processes are forked from, its imports done once.

A worker process needs Prefect's task engine, GX, DuckDB and cakupan's stages: seconds of
imports (GX alone 3.4 s). Spawned, every worker of every run paid them again, all at once at
the start of the ingest. The forkserver imports them once, and can be started before the run
does its own start-up (`start_worker_server`, called by the command), so they are done by the
time the first slice is submitted; each worker is then a fork of it, ready at once.

No Prefect import here: the command starts the server before it imports Prefect. The run's
local workers stop it when they end, before the rebuild, and the command again at its end
(`stop_worker_server`: a run that failed before its slices); so it is reaped, and its CPU and
its workers' count as the command's (getrusage of whoever waits for the command).

The server's socket lives in a folder of $TMPDIR named after the pid of the process that
started it. multiprocessing would make a `pymp-*` folder that a killed process leaves behind;
a folder named so is removed by the next server's start (`sweep_ended_worker_servers`) once
its pid has no process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.util
import os
import shutil
import signal
import tempfile
from pathlib import Path

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

SOCKET_FOLDER = "cakupan-forkserver-"  # then the pid of the process that started the server


def start_worker_server() -> str | None:
    """Start the forkserver, unless running; returns at once while it imports WORKER_MODULES.
    None, or why it cannot run: workers are then spawned, each importing for itself. (Its
    socket lives in $TMPDIR, and Python 3.11 gives up on a path longer than AF_UNIX allows.)"""
    multiprocessing.set_forkserver_preload(WORKER_MODULES)
    if multiprocessing.forkserver._forkserver._forkserver_pid is None:
        sweep_ended_worker_servers()
        # where multiprocessing makes the socket (util.get_temp_dir; private API, as below),
        # removed at stop_worker_server or at this process's exit, as multiprocessing would
        folder = tempfile.mkdtemp(prefix=_folder_prefix(os.getpid()))
        multiprocessing.process.current_process()._config["tempdir"] = folder
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=-100)
    try:
        multiprocessing.forkserver.ensure_running()
    except OSError as error:
        _remove_socket_folder()
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
    _remove_socket_folder()


def sweep_ended_worker_servers() -> list[Path]:
    """Remove the socket folders in $TMPDIR of processes that ended without removing them
    (killed); returns them. A folder is its process's while a process has that pid."""
    swept = []
    for folder in Path(tempfile.gettempdir()).glob(_folder_prefix("*") + "*"):
        pid = folder.name.removeprefix(SOCKET_FOLDER).split("-")[0]
        if pid.isdigit() and not _running(int(pid)) and _owned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(folder)
    return swept


def _folder_prefix(pid: int | str) -> str:
    return f"{SOCKET_FOLDER}{pid}-"


def _owned(folder: Path) -> bool:
    try:
        return folder.lstat().st_uid == os.getuid()
    except FileNotFoundError:  # swept by another command just now
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_socket_folder() -> None:
    config = multiprocessing.process.current_process()._config
    folder = config.get("tempdir")
    if folder and Path(folder).name.startswith(_folder_prefix(os.getpid())):
        del config["tempdir"]
        shutil.rmtree(folder, ignore_errors=True)
