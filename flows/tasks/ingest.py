"""The ingest tasks: a worker prepares a slice, the writer loads a chunk.

Tasks take and return paths, names and counts only: connections, frames, raw identifiers
and the secret key stay inside them (a worker reads the key from its own environment).
"""

from __future__ import annotations

import logging
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from cakupan.config import worker_limits
from cakupan.errors import DiskFull
from cakupan.flows.retries import RETRY_ON_IO
from cakupan.ingest.audit import LOADED, REJECTED, UNSETTLED, FileOutcome
from cakupan.ingest.discover import Slice
from cakupan.ingest.load import load_chunk
from cakupan.ingest.pseudonymise import SliceResult
from cakupan.ingest.read.masking import escaped, listed
from cakupan.ingest.worker import prepare_slice
from cakupan.warehouse.connection import connect, keep_share_of_memory
from cakupan.warehouse.disk import said_in_one_line
from cakupan.warehouse.pii import key_from_env


# The scale-10 year's loads held 0.87 GB with the whole 1 GB cap, 0.69 with half, 0.45 with a
# quarter, ingesting as fast (README, Workers).
LOAD_SHARE_OF_MEMORY = 0.25


class _DiskFullWithoutTraceback(logging.Filter):
    """A full disk is said in one line (DiskFull); its traceback, printed by a worker process
    or the run's, would bury that line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], DiskFull):
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("prefect.task_runs").addFilter(_DiskFullWithoutTraceback())


@task(name="prepare-slice", cache_policy=NO_CACHE, **RETRY_ON_IO)
def prepare(landing: str, work: Slice, scratch: str, pages: str) -> SliceResult:
    """Read, validate and pseudonymise one slice into Parquet under `scratch`."""
    key = key_from_env() if work.kind == "enrolments" else None
    limits = worker_limits()  # here, on the worker, from its own environment (config.WorkerLimits says why)
    with said_in_one_line(Path(scratch)):
        return prepare_slice(Path(landing), work, Path(scratch), key, Path(pages), limits)


@task(name="load-chunk", cache_policy=NO_CACHE, **RETRY_ON_IO)  # writes the warehouse: never cached
def load(warehouse: str, results: list[SliceResult], run_id: str, memory_limit: str) -> list[FileOutcome]:
    """Load the prepared slices of one chunk into the warehouse in one transaction."""
    logger = get_run_logger()
    with said_in_one_line(Path(warehouse).parent), connect(warehouse, memory_limit=memory_limit) as con:
        # appending Parquet needs little, and the workers run beside it: the rebuild gets the whole cap
        keep_share_of_memory(con, LOAD_SHARE_OF_MEMORY)
        outcomes = load_chunk(con, results, run_id)
    for outcome in outcomes:
        if outcome.schema_drift:
            logger.warning(
                "%s: schema drift, %d extra column(s) ignored: %s",
                escaped(outcome.name), len(outcome.schema_drift), listed(list(outcome.schema_drift)),
            )
        if outcome.status == REJECTED:
            logger.error("%s: rejected: %s", escaped(outcome.name), outcome.reason)
        if outcome.status == UNSETTLED:
            logger.warning("%s: %s; left for the next run", escaped(outcome.name), outcome.reason)
    loaded = [o for o in outcomes if o.status == LOADED]
    rejected = [o for o in outcomes if o.status == REJECTED]
    logger.info(
        "chunk of %d file(s): %d loaded (%d rows, %d quarantined, %d duplicate), %d rejected",
        len(outcomes), len(loaded),
        sum(o.rows_loaded or 0 for o in loaded),
        sum(o.rows_quarantined or 0 for o in loaded),
        sum(o.rows_duplicate or 0 for o in loaded),
        len(rejected),
    )
    return outcomes
