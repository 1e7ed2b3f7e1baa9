"""Validating a staged slice with the GX suites (`suites`); Data Docs pages of the
results, row numbers only, never values (`data_docs`).

GX is imported when a slice is first validated, not with this package: it costs seconds,
and a run whose slices are prepared by worker processes never validates in its own process."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cakupan.ingest.read import Staged
from cakupan.ingest.read.slices import frames

__all__ = ["validate_slice"]


def validate_slice(
    con: duckdb.DuckDBPyConnection, staged: Staged, pages: Path | None = None, name: str = ""
) -> dict[int, list[str]]:
    """{row `_id`: sorted rule ids} for the failing rows of the staged slice; with `pages`
    (a run's Data Docs folder), one page per validated frame, named after `name`."""
    from cakupan.ingest.validate.data_docs import write_validation_page
    from cakupan.ingest.validate.suites import validate_rows_with_results

    failures: dict[int, list[str]] = {}
    validated = 0
    for frame in frames(con, staged):
        if frame.empty:
            continue
        validation = validate_rows_with_results(staged.kind, frame)
        failures.update(validation.failures)
        validated += 1
        if pages is not None:
            write_validation_page(validation.results, pages, name if validated == 1 else f"{name}-{validated}")
    return failures
