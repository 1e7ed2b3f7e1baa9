"""Reading a slice: file checks (`checks`), rows as text into a scratch database of the
worker's own (`rows`), bad rows masked (`masking`). A file cut into parts is staged once,
by the first of its parts to come, and every part keeps its rows from that staging."""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from cakupan.config import WorkerLimits
from cakupan.ingest.discover import Slice
from cakupan.ingest.extracts import parse_name
from cakupan.ingest.read.rows import (
    KEPT, ROWS_TABLE, FileRead, Staged, StagedFiles, keep_part, read_rows, stage_files,
)

__all__ = ["FileRead", "ROWS_TABLE", "Staged", "read_slice", "scratch_database"]

_SHARED = "staged"  # the name a part attaches its file's shared staging under


@contextmanager
def scratch_database(under: Path, limits: WorkerLimits = WorkerLimits()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB file in a private folder (0700) made in `under`, removed on exit: raw rows (with
    nik and kpj) stay on the worker that read them. `under` is the run's scratch folder beside
    the warehouse, so that what a killed worker or run leaves is found and removed by the next
    run."""
    under.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="rows-", dir=under))
    try:
        with _staging_connection(folder / "rows.duckdb", limits) as con:
            yield con
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _staging_connection(database: Path, limits: WorkerLimits) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(database))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"set memory_limit = '{limits.staging_memory_limit}'")
        con.execute(f"attach ':memory:' as {KEPT}")
        yield con
    finally:
        con.close()


def read_slice(
    con: duckdb.DuckDBPyConnection, landing: Path, work: Slice, shared: Path | None = None,
    limits: WorkerLimits = WorkerLimits(),
) -> Staged:
    """Read the slice's files from `landing` into `con` (a `scratch_database`). A slice
    that is a part of its files reads them once for all parts, into a staging of its own
    under `shared` (a folder every part can reach, owner-only: it holds raw rows)."""
    extract_dates = {}
    for name in work.files:
        parsed = parse_name(name)
        if parsed is None or parsed[1] is None or parsed[0] != work.kind:
            raise ValueError(f"{name}: not a loadable {work.kind} extract name (discovery rejects it)")
        extract_dates[name] = parsed[1]
    paths = [landing / name for name in work.files]
    if work.parts == 1 or shared is None:
        return read_rows(con, work.kind, paths, extract_dates, work.part, work.parts, limits)
    folder = shared / Slice(work.kind, work.files).name
    with _staged_once(
        folder, work.parts, lambda staging: stage_files(staging, work.kind, paths, extract_dates, limits), limits
    ) as (database, found):
        con.execute(f"attach '{database}' as {_SHARED} (read_only)")
        try:
            return keep_part(con, found, work.part, work.parts, staging=_SHARED)
        finally:
            con.execute(f"detach {_SHARED}")


@contextmanager
def _staged_once(
    folder: Path, parts: int, stage: Callable[[duckdb.DuckDBPyConnection], StagedFiles], limits: WorkerLimits
) -> Iterator[tuple[Path, StagedFiles]]:
    """The staging database in `folder` and what staging found: staged by the first part
    to come (the others wait for it), removed when the last part is done with it."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    database, found_file, done_file = folder / "rows.duckdb", folder / "found.json", folder / "parts-done"
    with _locked(folder):
        if not found_file.exists():  # a part that failed staging left no found.json
            database.unlink(missing_ok=True)
            with _staging_connection(database, limits) as staging:
                found = stage(staging)
            written = found_file.with_suffix(".tmp")
            written.write_text(found.to_json(), encoding="utf-8")
            written.replace(found_file)
        found = StagedFiles.from_json(found_file.read_text(encoding="utf-8"))
    try:
        yield database, found
    finally:
        with _locked(folder):
            done = int(done_file.read_text() or 0) + 1 if done_file.exists() else 1
            done_file.write_text(str(done))
        if done == parts:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with (folder / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
