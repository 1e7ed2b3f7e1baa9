"""Where slices are prepared: in the run's own process, in local worker processes, or on a
running Dask cluster. The writer stays in the run's process whatever is chosen.

One worker prepares in the run's own process (no second copy of GX and Prefect to start);
more are processes of their own, forked from a forkserver that has their imports done
(worker_server.py), which end with the run even when it is killed with kill -9. A Dask
address is checked before any work: an unreachable scheduler is a usage error, not a run
that fails half-way. A run told to stop (SIGTERM, Ctrl-C) does not wait for the slices in
progress (`preparing`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from prefect.exceptions import TerminationSignal
from prefect.futures import PrefectWrappedFuture
from prefect.settings import get_current_settings
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from cakupan.config import WorkerSettings
from cakupan.errors import Refused
from cakupan.flows.compat import fork_from_server, local_workers, refresh_global_settings_context
from cakupan.flows.worker_server import start_worker_server, stop_worker_server

DASK_CONNECT_SECONDS = 5
# A stopped run whose runner still waits for a busy slice ends this much later, like kill -9.
STOP_GRACE_SECONDS = 5.0
# The run waits for a slice in turns this long, so that it hears a signal between them.
WAIT_TURN_SECONDS = 0.5


class DaskUnreachable(Refused):
    """No Dask scheduler answers at the address given."""


def slice_runner(settings: WorkerSettings) -> TaskRunner:
    """The task runner that prepares the run's slices; not yet started (use it as a context manager)."""
    if settings.dask_address:
        check_dask_scheduler(settings.dask_address)
        from prefect_dask import DaskTaskRunner  # imports distributed: only when asked for

        return DaskTaskRunner(address=settings.dask_address, client_kwargs={"timeout": DASK_CONNECT_SECONDS})
    if settings.workers == 1:
        return ThreadPoolTaskRunner(max_workers=1)
    # the environment Prefect hands each task (key included): this process's, with the Prefect
    # settings in force
    environment = get_current_settings().to_environment_variables(exclude_unset=True) | dict(os.environ)
    workers = LocalWorkers(max_workers=settings.workers, initializer=start_worker, initargs=(environment,))
    workers.unforked_because = start_worker_server()
    return workers


class LocalWorkers(ProcessPoolTaskRunner):
    """Prefect's process pool, its processes forked from the warm forkserver instead of spawned
    (unless the server cannot run: `unforked_because`)."""

    unforked_because: str | None = None

    def __enter__(self):
        super().__enter__()
        if self.unforked_because:
            self.logger.warning("local workers are spawned, each importing GX and Prefect itself: %s",
                                self.unforked_because)
        else:
            fork_from_server(self)
        return self

    def __exit__(self, *exc_info):
        super().__exit__(*exc_info)
        stop_worker_server()  # the run's slices are done: its imports need no memory while it rebuilds


def check_dask_scheduler(address: str) -> None:
    """Refuse, in one line, an address that is malformed or where nothing listens."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise DaskUnreachable(
            f"--dask-address {address!r}: expected a Dask scheduler address such as tcp://host:8786"
        )
    try:
        with socket.create_connection((host, port), timeout=DASK_CONNECT_SECONDS):
            pass
    except OSError as error:
        raise DaskUnreachable(
            f"--dask-address {address}: no Dask scheduler answers ({error.strerror or error})"
        ) from None


def start_worker(environment: dict[str, str]) -> None:
    """A worker process's initializer. It takes the run's environment and Prefect settings: the
    forkserver has those of the process that started it, perhaps for an earlier run, and a
    worker without the run's API URL would start a temporary Prefect server. And it ends when
    the run is gone: a run killed with kill -9 cannot stop its pool, and an orphaned worker
    would go on reading (the run holds the other end of the worker's parent sentinel)."""
    os.environ.clear()
    os.environ.update(environment)
    refresh_global_settings_context()
    sentinel = multiprocessing.parent_process().sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-run", daemon=True).start()


def parallelism(runner: TaskRunner) -> int:
    """How many slices a started runner prepares at once: the parts a large file is cut into."""
    if isinstance(runner, (ProcessPoolTaskRunner, ThreadPoolTaskRunner)):
        return local_workers(runner)
    return max(1, sum(worker["nthreads"] for worker in runner.client.scheduler_info()["workers"].values()))


def slice_result(future: PrefectWrappedFuture):
    """A prepared slice's result, waited for in short turns. Python runs a signal's handler
    (SIGTERM: stop the run) in the main thread once that thread wakes, and the kernel may hand
    the signal to a busy worker thread instead: a wait without end would then never hear it."""
    while not future.wrapped_future.done():
        future.wait(WAIT_TURN_SECONDS)
    return future.result()


@contextmanager
def preparing(runner: TaskRunner, scratch: Path, say) -> Iterator[TaskRunner]:
    """The runner, started for the block. Told to stop (SIGTERM from timeout, systemd or a pod
    stop; Ctrl-C), the run abandons the slices in progress at once: its worker processes are
    killed and its scratch removed. A slice in a thread of this process (one worker) cannot be
    interrupted and would hold the process until it is done, so if the runner has not stopped
    STOP_GRACE_SECONDS later, the process ends there, leaving what kill -9 leaves (its audit
    row is closed as CRASHED by the next run, which redoes its files)."""
    with runner:
        try:
            yield runner
        except (TerminationSignal, KeyboardInterrupt) as stop:
            number = stop.signal if isinstance(stop, TerminationSignal) else signal.SIGINT
            say(f"stopping on {signal.Signals(number).name}: the slices being prepared are abandoned "
                f"(files loaded so far are kept; the next run redoes the rest)")
            _abandon(scratch)
            threading.Thread(target=_end_process, args=(scratch, number), name="stop", daemon=True).start()
            raise


def _abandon(scratch: Path) -> None:
    for worker in multiprocessing.active_children():  # this run's worker processes, never another's
        worker.kill()
    shutil.rmtree(scratch, ignore_errors=True)


def _end_process(scratch: Path, number: int) -> None:
    time.sleep(STOP_GRACE_SECONDS)
    _abandon(scratch)  # a busy slice may have written more since
    print(f"error: stopped by {signal.Signals(number).name} while a slice was being prepared", file=sys.stderr,
          flush=True)
    os._exit(128 + number)
