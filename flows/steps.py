"""The steps both runbooks (nightly, backfill) share, each returning what it produced:
what discovery set aside, logged; the files loaded; the report and the run's artifacts."""

from __future__ import annotations

import shutil
from typing import Callable, Iterator

from prefect import get_run_logger
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote

from cakupan.config import Settings, data_docs_dir, scratch_dir
from cakupan.errors import DiskFull, SlicesFailed
from cakupan.progress import FileProgress
from cakupan.flows.runner import parallelism, preparing, slice_result
from cakupan.flows.tasks.ingest import load, prepare
from cakupan.ingest.audit import FileOutcome
from cakupan.ingest.discover import Discovery, LandedFile, plan
from cakupan.ingest.read.masking import escaped, listed
from cakupan.ingest.validate.data_docs import refresh_index


def log_discovery(log, found: Discovery, settings: Settings) -> None:
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
            f"{settings.settle_seconds:g}", len(found.unsettled), listed(found.unsettled),
        )
    for outcome in found.rejected:
        log.error("%s: rejected: %s", escaped(outcome.name), outcome.reason)


def load_files(
    landing: str, warehouse: str, files: list[LandedFile], run_id: str, log: Callable[..., None],
    runner: TaskRunner, settings: Settings,
) -> Iterator[list[FileOutcome]]:
    """Prepare every slice on the runner's workers at once; load chunk by chunk as its
    slices arrive (each chunk one transaction), yielding each loaded chunk's outcomes. A chunk
    with a failed slice is not loaded; the others are, then this raises naming the files left
    out (SlicesFailed, or DiskFull). A large file is cut into one part per worker.

    A chunk's results are quoted: Prefect would otherwise walk every object in them, several
    times per load, looking for futures (seconds in a backfill). Not a slice: Dask's client
    rebuilds the tuples in a task's arguments, so a quote would reach its worker as a tuple."""
    scratch = scratch_dir(warehouse, run_id)
    pages = data_docs_dir(warehouse) / run_id
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
                    yield load(warehouse, quote(results), run_id, settings.duckdb_memory_limit)
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


def report_run(warehouse: str, run_summary_markdown: str, settings: Settings) -> None:
    """The city's bridge when a figure moved, the coverage report, the run's artifacts."""
    # imported here: local workers import this module (their tasks name its flows) and would
    # otherwise load matplotlib, ~0.5 s of their forkserver's start-up, for nothing
    from cakupan.flows.tasks.report import publish_artifacts, publish_explanation, write_coverage_report

    explained = publish_explanation(warehouse, settings.duckdb_memory_limit)
    write_coverage_report(warehouse, settings, explained)
    publish_artifacts(warehouse, run_summary_markdown, settings.duckdb_memory_limit)
