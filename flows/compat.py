"""Prefect internals Cakupan relies on, all here: private attributes, undocumented variables and
behaviour the rest of the code would otherwise poke at in six places.

Checked against prefect 3.9.1 (prefect-dask 0.3.7). Each has a test in
tests/flows/test_compat.py that fails when an upgrade changes what is relied on here; when
one fails, fix it here (the callers do not reach past these names).
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from prefect.concurrency._leases import maintain_concurrency_lease
from prefect.context import refresh_global_settings_context
from prefect.exceptions import FailedRun
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

__all__ = [
    "EMBEDDED_SERVER_APP", "EMBEDDED_SERVER_ENVIRONMENT", "drop_failed_state_echo", "fork_from_server",
    "local_workers", "maintain_concurrency_lease", "print_log_lines_on", "refresh_global_settings_context",
    "send_queued_logs_and_events",
]

# The embedded server is started the way Prefect starts its own temporary one
# (prefect.server.api.server.SubprocessASGIServer): uvicorn on this app factory, with these
# variables (no UI; ephemeral: no background services; final: the last app of its process).
EMBEDDED_SERVER_APP = "prefect.server.api.server:create_app"
EMBEDDED_SERVER_ENVIRONMENT = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}

# The logger of Prefect's flow engine, where it logs a run's end (prefect.logging.loggers.flow_run_logger).
FLOW_RUNS_LOGGER = "prefect.flow_runs"


def local_workers(runner: ProcessPoolTaskRunner | ThreadPoolTaskRunner) -> int:
    """How many slices a local task runner prepares at once (Prefect keeps it private)."""
    return runner._max_workers


def fork_from_server(runner: ProcessPoolTaskRunner) -> None:
    """Make an entered ProcessPoolTaskRunner fork its processes from the forkserver: Prefect's
    `__enter__` builds its pool on multiprocessing's "spawn" context, with no way to choose
    another. The pool has started no process yet; this one is the same pool (Prefect's worker
    initializer and its arguments: the message queue, ours) on the "forkserver" context."""
    spawning = runner._executor
    runner._executor = ProcessPoolExecutor(
        max_workers=runner._max_workers, mp_context=multiprocessing.get_context("forkserver"),
        initializer=spawning._initializer, initargs=spawning._initargs,
    )
    spawning.shutdown(wait=False)


def send_queued_logs_and_events(timeout: float) -> None:
    """Send the logs and events Prefect still queues for its API, now (not at exit)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        service.drain_all(timeout=timeout, at_exit=False)


class FailedStateIsNoCrash(logging.Filter):
    """A run that returns a Failed state has said why in its message. In a deployment run
    Prefect's engine then raises that state again (FailedRun) and logs it as "Engine execution
    exited with unexpected exception" with a traceback; drop that echo. A flow that raises
    still logs its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], FailedRun))


def drop_failed_state_echo() -> None:
    """Install FailedStateIsNoCrash on the flow engine's logger (idempotent)."""
    logger = logging.getLogger(FLOW_RUNS_LOGGER)
    if not any(isinstance(installed, FailedStateIsNoCrash) for installed in logger.filters):
        logger.addFilter(FailedStateIsNoCrash())


def print_log_lines_on(handler: logging.Handler, console) -> bool:
    """If `handler` is Prefect's console handler, make it print through `console` (a rich
    Console, so that the command's live line stays below the log lines instead of being
    written through); whether it is."""
    from prefect.logging.handlers import PrefectConsoleHandler

    if not isinstance(handler, PrefectConsoleHandler):
        return False
    handler.console = console
    return True
