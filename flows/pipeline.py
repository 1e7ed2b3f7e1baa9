"""What the nightly and backfill flows share after choosing their files: record the run,
prepare slices on the workers and load them chunk by chunk, and turn per-file outcomes
into the run's verdict and summary."""

from __future__ import annotations

import json
import logging
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from prefect import get_run_logger
from prefect.exceptions import FailedRun
from prefect.states import Completed, Failed, State
from prefect.task_runners import TaskRunner

from cakupan.config import data_docs_dir, owner_only_files, scratch_dir, scratch_root, settle_seconds
from cakupan.errors import DiskFull, Refused, SlicesFailed
from cakupan.flows.exclusive import sole_writer
from cakupan.flows.progress import FileProgress
from cakupan.flows.runner import parallelism, preparing, slice_result
from cakupan.flows.tasks.freshness import check_deliveries
from cakupan.flows.tasks.ingest import load, prepare
from cakupan.flows.tasks.publish import publish_tables
from cakupan.flows.tasks.report import publish_artifacts, publish_explanation, write_coverage_report
from cakupan.ingest.audit import FileOutcome, Freshness
from cakupan.ingest.discover import Discovery, LandedFile, plan
from cakupan.ingest.read.masking import escaped, listed
from cakupan.ingest.validate.data_docs import refresh_index
from cakupan.warehouse.connection import connect
from cakupan.warehouse.history import Publication
from cakupan.warehouse.integrity import check_intact
from cakupan.warehouse.pii import verify_key_for
from cakupan.warehouse.runs import close_abandoned_runs, finish_run, start_run
from cakupan.warehouse.scratch import sweep_ended_runs


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
            # Message only: the engine raises a failed state's data, and a RunBook is no exception.
            return Failed(message=f"{len(self.rejected)} file(s) rejected: {listed([o.name for o in self.rejected])}")
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
            lines += [f"| {_cell(o.name)} | {_cell(o.reason or '')} |" for o in self.rejected]
        return "\n".join(lines)


def _cell(text: str) -> str:
    """Untrusted text as one cell of a Markdown table."""
    return escaped(text).replace("|", "\\|")


@contextmanager
def writing(warehouse: str) -> Iterator[None]:
    """The run as the warehouse's one writer, once the warehouse is intact and the key is its key.

    Refuses before writing anything; then closes the runs a killed writer left RUNNING and
    removes what ended runs left in scratch (raw rows staged by a killed worker among them).
    """
    owner_only_files()
    with sole_writer(warehouse):
        check_intact(warehouse)
        verify_key_for(warehouse)
        with connect(warehouse) as con:
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


def refused(log, refusal: Refused | DiskFull) -> State:
    """A run refused before writing, or stopped by a full disk: one line in the log, the same
    line as the run's message."""
    log.error("%s", refusal)
    return Failed(message=str(refusal))


def log_discovery(log, found: Discovery) -> None:
    """One line each for what discovery set aside, so nothing is passed over unseen."""
    if found.ignored:
        log.info("ignored %s name(s) (not an extract name, or a folder): %s", f"{len(found.ignored):,}", listed(found.ignored))
    if found.skipped:
        log.info("skipped %d file(s) already loaded with the same content", len(found.skipped))
    if found.skipped_rejected:
        log.info(
            "skipped %d file(s) already rejected with the same content: %s (a corrected re-delivery is loaded)",
            len(found.skipped_rejected), listed(found.skipped_rejected),
        )
    if found.unsettled:
        log.warning(
            "not settled yet (changed in the last %s s: still being delivered): %d file(s): %s; left for the next run",
            f"{settle_seconds():g}", len(found.unsettled), listed(found.unsettled),
        )
    for outcome in found.rejected:
        log.error("%s: rejected: %s", escaped(outcome.name), outcome.reason)


def load_files(
    landing: str, warehouse: str, files: list[LandedFile], book: RunBook, log, runner: TaskRunner
) -> None:
    """Prepare every slice on the runner's workers at once; load chunk by chunk as its
    slices arrive (each chunk one transaction). A chunk with a failed slice is not loaded;
    the others are, then the run fails naming the files left out. A large file is cut into
    one part per worker."""
    scratch = scratch_dir(warehouse, book.run_id)
    pages = data_docs_dir(warehouse) / book.run_id
    scratch.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only, whatever a Dask worker's umask
    progress = FileProgress(len(files), log)
    failed: list[tuple[list[str], BaseException]] = []
    left_out = 0
    try:
        with preparing(runner, scratch, get_run_logger().warning):
            chunks = plan(files, parts_per_file=parallelism(runner))
            submitted = [
                [(work, runner.submit(prepare, dict(landing=landing, work=work, scratch=str(scratch), pages=str(pages))))
                 for work in chunk.slices]
                for chunk in chunks
            ]
            for chunk, futures in zip(chunks, submitted):
                results, chunk_failed = [], False
                for work, future in futures:
                    try:
                        result = slice_result(future)
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
        error = failed[0][1]
        if isinstance(error, DiskFull):
            raise DiskFull(f"{error}; {left_out} file(s) not loaded, the next run loads them")
        raise SlicesFailed(
            f"a worker failed on {listed(names)} ({type(error).__name__}: {escaped(str(error))}); "
            f"{left_out} file(s) not loaded, the rest are (the next run, or backfill --resume, redoes them)"
        )


def load_publish_report(
    landing: str, warehouse: str, found: Discovery, book: RunBook, log, runner: TaskRunner,
    run_date: date | None = None,
) -> None:
    """Steps 2 to 4 of both runbooks, after discovery chose the files; with the ``run_date``
    of a nightly, also the freshness of the deliveries (before the report, for its banner)."""
    log.info("2/4 Validating and loading %d file(s)", len(found.selected))
    load_files(landing, warehouse, found.selected, book, log.info, runner)

    log.info("3/4 Rebuilding the published tables")
    book.as_of = publish_tables(
        warehouse, Publication(book.run_id, book.flow, len(book.loaded), len(book.rejected))
    )
    if run_date is not None:
        book.freshness = check_deliveries(warehouse, book.run_id, run_date)

    log.info("4/4 Writing the coverage report")
    explained = publish_explanation(warehouse)
    write_coverage_report(warehouse, explained)
    publish_artifacts(warehouse, book.summary_markdown())


def parameters_json(**parameters) -> dict:
    return json.loads(json.dumps(parameters, default=str))
