"""What the nightly and backfill flows share after choosing their files: record the run,
load in chunks, and turn per-file outcomes into the run's verdict and summary."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from prefect.states import Completed, Failed, State

from cakupan.flows.progress import FileProgress
from cakupan.flows.tasks.discover import Discovery, LandedFile
from cakupan.flows.tasks.freshness import check_deliveries
from cakupan.flows.tasks.ingest import ingest_chunk, plan_chunks
from cakupan.flows.tasks.load import FileOutcome
from cakupan.flows.tasks.publish import publish_tables
from cakupan.flows.tasks.report import publish_artifacts, write_coverage_report
from cakupan.warehouse.connection import connect
from cakupan.warehouse.freshness import Freshness
from cakupan.warehouse.history import Publication
from cakupan.warehouse.runs import finish_run, start_run


@dataclass
class RunBook:
    """What a run did, file by file, for its verdict, its audit row and its artifact."""

    run_id: str
    flow: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    as_of: date | None = None
    freshness: Freshness | None = None  # nightly only

    @property
    def stale(self) -> str | None:
        """The one-line message of a stale delivery, or None."""
        return self.freshness.stale_message() if self.freshness else None

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
            return Failed(message=f"{len(self.rejected)} file(s) rejected: {names}{more}", data=self)
        if self.stale:
            return Failed(message=self.stale)
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
        if self.freshness:
            lines.append(f"- deliveries: **{self.freshness.level}**")
            lines += [f"  - {problem}" for problem in self.freshness.problems()]
        if self.rejected:
            lines += ["", "| rejected file | reason |", "|---|---|"]
            lines += [f"| {o.name} | {o.reason} |" for o in self.rejected]
        return "\n".join(lines)


@contextmanager
def recorded_run(warehouse: str, run_id: str, flow: str, parameters: dict) -> Iterator[RunBook]:
    """audit.runs: RUNNING at the start; COMPLETED or FAILED at the end, also on an exception."""
    with connect(warehouse) as con:
        start_run(con, run_id, flow, parameters)
    book = RunBook(run_id, flow)
    state = "FAILED"
    try:
        yield book
        state = "FAILED" if book.rejected or book.stale else "COMPLETED"
    finally:
        with connect(warehouse) as con:
            finish_run(con, run_id, state, len(book.loaded), len(book.rejected), book.as_of)


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


def load_publish_report(
    landing: str, warehouse: str, found: Discovery, book: RunBook, log, run_date: date | None = None
) -> None:
    """Steps 2 to 4 of both runbooks, after discovery chose the files; with the ``run_date``
    of a nightly, also the freshness of the deliveries (before the report, for its banner)."""
    log.info("2/4 Validating and loading %d file(s)", len(found.selected))
    load_files(landing, warehouse, found.selected, book, log.info)

    log.info("3/4 Rebuilding the published tables")
    book.as_of = publish_tables(
        warehouse, Publication(book.run_id, book.flow, len(book.loaded), len(book.rejected))
    )
    if run_date is not None:
        book.freshness = check_deliveries(warehouse, book.run_id, run_date)

    log.info("4/4 Writing the coverage report")
    write_coverage_report(warehouse)
    publish_artifacts(warehouse, book.summary_markdown())


def parameters_json(**parameters) -> dict:
    return json.loads(json.dumps(parameters, default=str))
