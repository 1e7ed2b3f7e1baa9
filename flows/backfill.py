"""The backfill flow: reload every file dated in a range with the current rules, then rebuild.

Resumable: a retried flow run, or `cakupan backfill --resume`, skips the files that the
interrupted backfill over the same range already loaded (per-file status in audit.extract_files).
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import State

from cakupan.config import DEFAULT_LANDING, DEFAULT_WAREHOUSE, Settings
from cakupan.errors import DiskFull, NothingToResume, Refused
from cakupan.parameters import as_bool, date_range, settings_of_run
from cakupan.flows.pipeline import parameters_json, recorded_run, refused, writing
from cakupan.flows.runner import slice_runner
from cakupan.flows.steps import load_files, log_discovery, report_run
from cakupan.flows.tasks.discover import discover_files
from cakupan.flows.tasks.publish import publish_tables
from cakupan.warehouse.clock import as_utc
from cakupan.warehouse.connection import connect
from cakupan.warehouse.runs import COMPLETED, last_backfill


def resume_point(warehouse: str, start: date, end: date, run_id: str, settings: Settings) -> datetime:
    """Files loaded since this time were done by the interrupted backfill being continued
    (a chain of resumes continues from the first interrupted run); a UTC instant."""
    with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
        previous = last_backfill(con, start, end)
    if previous is None or (previous.state == COMPLETED and previous.run_id != run_id):
        raise NothingToResume(f"no failed backfill from {start} to {end} to resume")
    since = previous.parameters.get("loaded_since")
    return as_utc(datetime.fromisoformat(since) if since else previous.started_at)


@flow(name="backfill", validate_parameters=False)  # checked here, in one line (cakupan/parameters.py)
def backfill(
    start: date,
    end: date,
    resume: bool = False,
    landing: str = DEFAULT_LANDING,
    warehouse: str = DEFAULT_WAREHOUSE,
    workers: int | None = None,
    dask_address: str | None = None,
) -> State:
    log = get_run_logger()
    try:
        start, end = date_range(start, end)
        resume = as_bool("resume", resume)
        settings = settings_of_run(workers, dask_address)
        runner = slice_runner(settings.workers)
        with writing(warehouse, settings):
            retrying = flow_run.run_count > 1
            loaded_since = resume_point(warehouse, start, end, flow_run.id, settings) if (resume or retrying) else None
            parameters = parameters_json(start=start, end=end, landing=landing, loaded_since=loaded_since)
            with recorded_run(warehouse, flow_run.id, "backfill", parameters, settings) as book:
                log.info("1/4 Discovering files dated %s to %s in %s", start, end, landing)
                found = discover_files(
                    landing, warehouse, book.run_id, settings, start=start, end=end, loaded_since=loaded_since
                )
                log_discovery(log, found, settings)
                book.record(found.rejected)
                if loaded_since:
                    log.info("Resuming: files loaded since %s are kept", loaded_since)

                log.info("2/4 Validating and loading %d file(s)", len(found.selected))
                for outcomes in load_files(landing, warehouse, found.selected, book.run_id, log.info, runner, settings):
                    book.record(outcomes)

                log.info("3/4 Rebuilding the published tables")
                book.as_of = publish_tables(warehouse, book.publication, settings)

                log.info("4/4 Writing the coverage report")
                report_run(warehouse, book.summary_markdown(), settings)
            return book.verdict()
    except (Refused, DiskFull) as refusal:
        return refused(log, refusal)
