"""Reading a slice: file checks (`checks`), rows as text into a scratch database of the
worker's own (`rows`), handed on as bounded frames (`slices`); bad rows masked (`masking`)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from cakupan.config import staging_memory_limit
from cakupan.ingest.discover import Slice
from cakupan.ingest.extracts import parse_name
from cakupan.ingest.read.rows import ROWS_TABLE, FileRead, Staged, read_rows

__all__ = ["FileRead", "ROWS_TABLE", "Staged", "read_slice", "scratch_database"]


@contextmanager
def scratch_database(under: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB file in a private folder (0700) made in `under`, removed on exit: raw rows (with
    nik and kpj) stay on the worker that read them. `under` is the run's scratch folder beside
    the warehouse, so that what a killed worker or run leaves is found and removed by the next
    run. A file rather than memory: DuckDB keeps it compressed (~0.5 GB for 13M rows, against
    ~2.8 GB in memory)."""
    under.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="rows-", dir=under))
    con = duckdb.connect(str(folder / "rows.duckdb"))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"set memory_limit = '{staging_memory_limit()}'")
        yield con
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def read_slice(con: duckdb.DuckDBPyConnection, landing: Path, work: Slice) -> Staged:
    """Read the slice's files from `landing` into `con` (a `scratch_database`)."""
    extract_dates = {}
    for name in work.files:
        parsed = parse_name(name)
        if parsed is None or parsed[1] is None or parsed[0] != work.kind:
            raise ValueError(f"{name}: not a loadable {work.kind} extract name (discovery rejects it)")
        extract_dates[name] = parsed[1]
    paths = [landing / name for name in work.files]
    return read_rows(con, work.kind, paths, extract_dates, work.part, work.parts)
