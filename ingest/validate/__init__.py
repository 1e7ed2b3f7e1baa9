"""Validating a staged slice with the GX suites where its rows are, on the worker's DuckDB
table (`suites`, with GX-on-DuckDB support in `gx_duckdb`); Data Docs pages of the results,
row ids only, never values (`data_docs`).

GX is imported when a slice is first validated, not with this package: it costs seconds,
and a run whose slices are prepared by worker processes never validates in its own process."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cakupan.ingest.read import ROWS_TABLE, Staged

__all__ = ["validate_slice"]


def validate_slice(
    con: duckdb.DuckDBPyConnection, staged: Staged, pages: Path | None = None, name: str = ""
) -> dict[int, list[str]]:
    """{row `_id`: sorted rule ids} for the failing rows of the staged slice; with `pages`
    (a run's Data Docs folder), its page, named after `name`."""
    if staged.rows == 0:
        return {}
    from cakupan.ingest.validate.data_docs import write_validation_page
    from cakupan.ingest.validate.suites import validate_table

    validation = validate_table(staged.kind, con, ROWS_TABLE)
    if pages is not None:
        write_validation_page(validation.results, pages, name)
    return validation.failures
