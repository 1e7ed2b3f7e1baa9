"""The frame of a writing run, for both flows: the warehouse's one writer once it is intact and
the key is its key, the run recorded in audit.runs from start to end, a refusal said in one line."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator

from prefect import get_run_logger
from prefect.states import Failed, State

from cakupan.config import Settings, owner_only_files, scratch_root
from cakupan.errors import DiskFull, Refused
from cakupan.flows.compat import drop_failed_state_echo
from cakupan.flows.exclusive import sole_writer
from cakupan.flows.runbook import RunBook
from cakupan.warehouse.connection import connect
from cakupan.warehouse.integrity import check_intact
from cakupan.warehouse.pii import verify_key_for
from cakupan.warehouse.runs import FAILED, close_abandoned_runs, finish_run, start_run
from cakupan.warehouse.scratch import sweep_ended_runs


drop_failed_state_echo()  # in every process that runs these flows (flows/compat.py)


@contextmanager
def writing(warehouse: str, settings: Settings) -> Iterator[None]:
    """The run as the warehouse's one writer, once the warehouse is intact and the key is its key.

    Refuses before writing anything; then closes the runs a killed writer left RUNNING and
    removes what ended runs left in scratch (raw rows staged by a killed worker among them).
    """
    owner_only_files()
    with sole_writer(warehouse, settings.writer_wait_seconds):
        check_intact(warehouse, settings.duckdb_memory_limit)
        verify_key_for(warehouse, settings.duckdb_memory_limit)
        with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
            close_abandoned_runs(con)
        swept = sweep_ended_runs(warehouse)
        if swept:
            get_run_logger().warning(
                "removed what %d run(s) that ended without cleaning up (killed) left in %s: %s%s",
                len(swept), scratch_root(warehouse), ", ".join(map(repr, swept[:5])),
                f" and {len(swept) - 5} more" if len(swept) > 5 else "",
            )
        yield


@contextmanager
def recorded_run(
    warehouse: str, run_id: str, flow: str, parameters: dict, settings: Settings,
) -> Iterator[RunBook]:
    """audit.runs: RUNNING at the start; COMPLETED or FAILED at the end, also on an exception."""
    with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
        start_run(con, run_id, flow, parameters)
    book = RunBook(run_id, flow)
    state = FAILED
    try:
        yield book
        state = book.state
    finally:
        with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
            finish_run(con, run_id, state, len(book.loaded), len(book.rejected), book.as_of)


def refused(log, refusal: Refused | DiskFull) -> State:
    """A run refused before writing, or stopped by a full disk: one line in the log, the same
    line as the run's message."""
    log.error("%s", refusal)
    return Failed(message=str(refusal))


def parameters_json(**parameters) -> dict:
    return json.loads(json.dumps(parameters, default=str))
