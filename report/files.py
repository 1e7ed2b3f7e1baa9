"""Writing the report folder: atomic replacement, and nothing but our own names in it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cakupan.report.charts import CHART_FILES
from cakupan.report.data import PUBLISHED_TABLES, PublishedTable

INDEX_FILE = "index.html"
EXPORT_FORMATS = ("parquet", "csv")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = r"^([=+\-@\t\r])"


def export_file_names(table: str) -> list[str]:
    return [f"{table}.{extension}" for extension in EXPORT_FORMATS]


REPORT_FILE_NAMES = (
    INDEX_FILE,
    *CHART_FILES,
    *(name for table in PUBLISHED_TABLES for name in export_file_names(table)),
)


def write_bytes(path: Path, content: bytes) -> Path:
    """Replace ``path`` in one step, so a reader never sees a half-written file."""
    with _replacing(path) as temporary:
        temporary.write_bytes(content)
    return path


def write_exports(published: dict[str, PublishedTable], out_dir: Path) -> list[Path]:
    """Each published table as Parquet (exact) and CSV (header row, ISO dates, NULL as empty
    field, and text that a spreadsheet would run as a formula prefixed with ')."""
    written = []
    for table in published.values():
        arrow = table.to_arrow()
        parquet_path = out_dir / f"{table.name}.parquet"
        with _replacing(parquet_path) as temporary:
            pq.write_table(arrow, temporary)
        csv_path = out_dir / f"{table.name}.csv"
        with _replacing(csv_path) as temporary:
            pa_csv.write_csv(neutralise_formulas(arrow), temporary)
        written += [parquet_path, csv_path]
    return written


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Text cells starting like a formula get a leading apostrophe, which a spreadsheet shows
    as text; numbers and dates are untouched (a negative number is not text)."""
    columns = [
        pc.replace_substring_regex(column, pattern=FORMULA_START, replacement=r"'\1")
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, schema=table.schema)


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
