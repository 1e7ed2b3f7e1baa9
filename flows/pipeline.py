"""What the nightly and backfill flows share after choosing their files: record the run,
load in chunks, and turn per-file outcomes into the run's verdict and summary."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from prefect.exceptions import FailedRun
from prefect.states import Completed, Failed, State

from cakupan.config import owner_only_files
from cakupan.flows.exclusive import sole_writer
from cakupan.flows.progress import FileProgress
from cakupan.flows.tasks.discover import Discovery, LandedFile
from cakupan.flows.tasks.ingest import ingest_chunk, plan_chunks
from cakupan.flows.tasks.load import FileOutcome
from cakupan.flows.tasks.publish import publish_tables
from cakupan.flows.tasks.report import publish_artifacts, write_coverage_report
from cakupan.warehouse.connection import Refused, connect
from cakupan.warehouse.integrity import check_intact
from cakupan.warehouse.pii import verify_key_for
from cakupan.warehouse.runs import close_abandoned_runs, finish_run, start_run


class _FailedStateIsNoCrash(logging.Filter):
    """A run that returns a Failed state has said why in its message. In a deployment run
    Prefect's engine then raises that state again (FailedRun) and logs it as "Engine execution
    exited with unexpected exception" with a traceback; drop that echo. A flow that raises
    still logs its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], FailedRun))


logging.getLogger("prefect.flow_runs").addFilter(_FailedStateIsNoCrash())


@dataclass
class RunBook:
    """What a run did, file by file, for its verdict, its audit row and its artifact."""

    run_id: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    as_of: date | None = None

    @property
    def loaded(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "LOADED"]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "REJECTED"]

    def verdict(self) -> State:
        if self.rejected:
            names = ", ".join(o.name for o in self.rejected[:5])
            more = f" and {len(self.rejected) - 5} more" if len(self.rejected) > 5 else ""
            # Message only: the engine raises a failed state's data, and a RunBook is no exception.
            return Failed(message=f"{len(self.rejected)} file(s) rejected: {names}{more}")
        return Completed(message=f"{len(self.loaded)} file(s) loaded, as of {self.as_of}", data=self)

    def summary_markdown(self) -> str:
        quarantined = sum(o.rows_quarantined or 0 for o in self.loaded)
        lines = [
            f"# Cakupan run `{self.run_id}`",
            "",
            f"- files loaded: **{len(self.loaded)}** ({sum(o.rows_loaded or 0 for o in self.loaded):,} rows)",
            f"- rows quarantined: **{quarantined:,}** (see `audit.quarantine`)",
            f"- files rejected: **{len(self.rejected)}**",
            f"- as of: **{self.as_of or '-'}**",
        ]
        if self.rejected:
            lines += ["", "| rejected file | reason |", "|---|---|"]
            lines += [f"| {o.name} | {o.reason} |" for o in self.rejected]
        return "\n".join(lines)


@contextmanager
def writing(warehouse: str) -> Iterator[None]:
    """The run as the warehouse's one writer, once the warehouse is intact and the key is its key.

    Refuses before writing anything; then closes the runs a killed writer left RUNNING.
    """
    owner_only_files()
    with sole_writer(warehouse):
        check_intact(warehouse)
        verify_key_for(warehouse)
        with connect(warehouse) as con:
            close_abandoned_runs(con)
        yield


@contextmanager
def recorded_run(warehouse: str, run_id: str, flow: str, parameters: dict) -> Iterator[RunBook]:
    """audit.runs: RUNNING at the start; COMPLETED or FAILED at the end, also on an exception."""
    with connect(warehouse) as con:
        start_run(con, run_id, flow, parameters)
    book = RunBook(run_id)
    state = "FAILED"
    try:
        yield book
        state = "COMPLETED" if not book.rejected else "FAILED"
    finally:
        with connect(warehouse) as con:
            finish_run(con, run_id, state, len(book.loaded), len(book.rejected), book.as_of)


def refused(log, refusal: Refused) -> State:
    """A run refused before writing: one line in the log, the same line as the run's message."""
    log.error("%s", refusal)
    return Failed(message=str(refusal))


def log_discovery(log, found: Discovery) -> None:
    """One line each for what discovery set aside, so nothing is passed over unseen."""
    if found.ignored:
        log.info("ignored (not an extract name, or a folder): %s", ", ".join(found.ignored))
    if found.skipped:
        log.info("skipped %d file(s) already loaded with the same content", len(found.skipped))
    for outcome in found.rejected:
        log.error("%s: rejected: %s", outcome.name, outcome.reason)


def load_files(landing: str, warehouse: str, files: list[LandedFile], book: RunBook, log) -> None:
    """Validate and load the chosen files chunk by chunk (each chunk is one transaction)."""
    progress = FileProgress(len(files), log)
    for chunk in plan_chunks(files):
        result = ingest_chunk(landing, warehouse, chunk, book.run_id)
        book.outcomes.extend(result.outcomes)
        progress.advance(len(chunk), sum(o.rows_read or 0 for o in result.outcomes))


def load_publish_report(landing: str, warehouse: str, found: Discovery, book: RunBook, log) -> None:
    """Steps 2 to 4 of both runbooks, after discovery chose the files."""
    log.info("2/4 Validating and loading %d file(s)", len(found.selected))
    load_files(landing, warehouse, found.selected, book, log.info)

    log.info("3/4 Rebuilding the published tables")
    book.as_of = publish_tables(warehouse)

    log.info("4/4 Writing the coverage report")
    write_coverage_report(warehouse)
    publish_artifacts(warehouse, book.summary_markdown())


def parameters_json(**parameters) -> dict:
    return json.loads(json.dumps(parameters, default=str))
