"""The nightly flow: load what landed since the last run, rebuild the published tables."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import State

from cakupan.config import DEFAULT_LANDING, DEFAULT_WAREHOUSE, today_jakarta
from cakupan.errors import DiskFull, Refused
from cakupan.parameters import as_date, settings_of_run
from cakupan.flows.pipeline import parameters_json, recorded_run, refused, writing
from cakupan.flows.runner import slice_runner
from cakupan.flows.steps import load_files, log_discovery, report_run
from cakupan.flows.tasks.discover import discover_files
from cakupan.flows.tasks.freshness import check_deliveries
from cakupan.flows.tasks.publish import publish_tables


@flow(name="nightly", validate_parameters=False)  # checked here, in one line (cakupan/parameters.py)
def nightly(
    as_of: date | None = None,
    landing: str = DEFAULT_LANDING,
    warehouse: str = DEFAULT_WAREHOUSE,
    workers: int | None = None,
    dask_address: str | None = None,
) -> State:
    log = get_run_logger()
    try:
        as_of = as_date("as_of", as_of) or today_jakarta()
        settings = settings_of_run(workers, dask_address)  # a bad value stops the run before it loads
        runner = slice_runner(settings.workers)
        with writing(warehouse, settings):
            with recorded_run(
                warehouse, flow_run.id, "nightly", parameters_json(as_of=as_of, landing=landing), settings
            ) as book:
                log.info("1/4 Discovering files dated up to %s in %s", as_of, landing)
                found = discover_files(landing, warehouse, book.run_id, settings, until=as_of)
                log_discovery(log, found, settings)
                book.record(found.rejected)

                log.info("2/4 Validating and loading %d file(s)", len(found.selected))
                for outcomes in load_files(landing, warehouse, found.selected, book.run_id, log.info, runner, settings):
                    book.record(outcomes)

                log.info("3/4 Rebuilding the published tables")
                book.as_of = publish_tables(warehouse, book.publication, settings)
                book.freshness = check_deliveries(warehouse, book.run_id, as_of, settings)  # before the report, for its banner

                log.info("4/4 Writing the coverage report")
                report_run(warehouse, book.summary_markdown(), settings)
            return book.verdict()
    except (Refused, DiskFull) as refusal:
        return refused(log, refusal)
