"""Writing the report folder: atomic replacement, and nothing but our own names in it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cakupan.report.data import PUBLISHED_TABLES, PublishedTable
from cakupan.report.page import CHART_FILES

INDEX_FILE = "index.html"
EXPORT_FORMATS = ("parquet", "csv")
REPORT_FILE_NAMES = (
    INDEX_FILE,
    *CHART_FILES,
    *(f"{table}.{extension}" for table in PUBLISHED_TABLES for extension in EXPORT_FORMATS),
)


def write_bytes(path: Path, content: bytes) -> Path:
    """Replace ``path`` in one step, so a reader never sees a half-written file."""
    with _replacing(path) as temporary:
        temporary.write_bytes(content)
    return path


def write_exports(published: dict[str, PublishedTable], out_dir: Path) -> list[Path]:
    """Each published table as Parquet and CSV (header row, ISO dates, NULL as empty field)."""
    written = []
    for table in published.values():
        arrow = table.to_arrow()
        parquet_path = out_dir / f"{table.name}.parquet"
        with _replacing(parquet_path) as temporary:
            pq.write_table(arrow, temporary)
        csv_path = out_dir / f"{table.name}.csv"
        with _replacing(csv_path) as temporary:
            pa_csv.write_csv(arrow, temporary)
        written += [parquet_path, csv_path]
    return written


def remove_stale(out_dir: Path, written: list[Path]) -> None:
    """Delete report files of an earlier run that this run did not write (e.g. marts now empty)."""
    keep = {path.name for path in written}
    for name in REPORT_FILE_NAMES:
        if name not in keep:
            (out_dir / name).unlink(missing_ok=True)


class _replacing:
    """A temporary file next to ``path`` that replaces it on success and is removed on failure."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> Path:
        # a plain new name, not mkstemp: the file gets the usual permissions (umask), not 0600
        self.temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        return self.temporary

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            os.replace(self.temporary, self.path)
        else:
            self.temporary.unlink(missing_ok=True)
