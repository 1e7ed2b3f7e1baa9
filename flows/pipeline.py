"""What the nightly and backfill flows share after choosing their files: record the run,
prepare slices on the workers and load them chunk by chunk, and turn per-file outcomes
into the run's verdict and summary."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from prefect.states import Completed, Failed, State

from cakupan.config import data_docs_dir, scratch_dir
from cakupan.flows.progress import FileProgress
from cakupan.flows.tasks.freshness import check_deliveries
from cakupan.flows.tasks.ingest import load, prepare
from cakupan.flows.tasks.publish import publish_tables
from cakupan.flows.tasks.report import publish_artifacts, write_coverage_report
from cakupan.ingest.audit import FileOutcome, Freshness
from cakupan.ingest.discover import Discovery, LandedFile, plan
from cakupan.ingest.read.masking import mask_identifiers
from cakupan.ingest.validate.data_docs import refresh_index
from cakupan.warehouse.connection import connect
from cakupan.warehouse.history import Publication
from cakupan.warehouse.runs import finish_run, start_run


class SlicesFailed(RuntimeError):
    """Slices a worker could not prepare: their files were not loaded (resume redoes them)."""


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


def load_files(
    landing: str, warehouse: str, files: list[LandedFile], book: RunBook, log, parts_per_file: int = 1
) -> None:
    """Prepare every slice on the task runner's workers at once; load chunk by chunk as its
    slices arrive (each chunk one transaction). A chunk with a failed slice is not loaded;
    the others are, then the run fails naming the files left out."""
    chunks = plan(files, parts_per_file=parts_per_file)
    scratch = scratch_dir(warehouse, book.run_id)
    pages = data_docs_dir(warehouse) / book.run_id
    progress = FileProgress(len(files), log)
    failed: list[tuple[list[str], BaseException]] = []
    left_out = 0
    try:
        submitted = [
            [(work, prepare.submit(landing, work, str(scratch), str(pages))) for work in chunk.slices]
            for chunk in chunks
        ]
        for chunk, futures in zip(chunks, submitted):
            results, chunk_failed = [], False
            for work, future in futures:
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - reported below, naming the files
                    failed.append((list(work.files), error))
                    chunk_failed = True
                    continue
                results.append(result)
                done = len(work.files) if work.part == work.parts - 1 else 0
                progress.advance(done, sum(f.rows_passing + f.rows_quarantined + f.rows_duplicate for f in result.files))
            if chunk_failed:
                left_out += len(chunk.files)
            else:
                book.outcomes.extend(load(warehouse, results, book.run_id))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if pages.is_dir():
            refresh_index(pages.parent)
    if failed:
        names = sorted({name for files_, _ in failed for name in files_})
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        error = failed[0][1]
        raise SlicesFailed(
            f"a worker failed on {shown} ({type(error).__name__}: {mask_identifiers(str(error))}); "
            f"{left_out} file(s) not loaded, the rest are (the next run, or backfill --resume, redoes them)"
        )


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
