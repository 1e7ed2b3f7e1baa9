"""history.*: what every run published, appended in the transaction that rebuilds mart.*.

Append-only: a publication inserts one row into history.publications and a copy of each
coverage mart's rows (run_id first); nothing here updates or deletes a history row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from cakupan.errors import NothingPublished
from cakupan.warehouse.clock import utc_now
from cakupan.warehouse.versions import record_files_in_force

# The published tables whose figures are kept (the employer work list is a current to-do
# list, not a figure the office reports).
HISTORY_TABLES = ("coverage_city_year", "coverage_sector_year", "coverage_district_year")
# ref_date follows as_of, so it moves every day without any figure moving.
NOT_A_FIGURE = ("ref_date",)


@dataclass(frozen=True)
class Publication:
    """The run that publishes: its id (audit.runs.run_id), flow and file counts."""

    run_id: str
    flow: str
    files_loaded: int
    files_rejected: int


@dataclass(frozen=True)
class PublishedRecord:
    """A row of history.publications (the columns a reader needs)."""

    run_id: str
    flow: str
    as_of: date | None
    published_at: datetime
    changed: bool


def append_publication(con: duckdb.DuckDBPyConnection, publication: Publication) -> PublishedRecord:
    """Copy the freshly rebuilt coverage marts into history.* and record the publication.

    Call inside the transaction that rebuilt mart.* (cakupan.transforms.build does), after
    core.as_of is built, so that history and the marts commit together.
    """
    run_id = _publication_id(con, publication.run_id)
    previous = latest_publication(con)
    changed = previous is None or any(_figures_differ(con, table, previous.run_id) for table in HISTORY_TABLES)
    [(as_of,)] = con.execute("select as_of from core.as_of").fetchall()
    published_at = utc_now()
    for table in HISTORY_TABLES:
        con.execute(f"insert into history.{table} select ?, * from mart.{table}", [run_id])
    record_files_in_force(con, run_id)
    con.execute(
        "insert into history.publications values (?, ?, ?, ?, ?, ?, ?)",
        [run_id, publication.flow, published_at, as_of, publication.files_loaded,
         publication.files_rejected, changed],
    )
    return PublishedRecord(run_id, publication.flow, as_of, published_at, changed)


def publications(
    con: duckdb.DuckDBPyConnection, condition: str = "true", parameters: list | None = None
) -> list[PublishedRecord]:
    """Publications meeting the SQL ``condition``, latest first; none in a warehouse that
    predates history and was only opened for reading since."""
    [(exists,)] = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'history' and table_name = 'publications'"
    ).fetchall()
    if not exists:
        return []
    rows = con.execute(
        f"select run_id, flow, as_of, published_at, changed from history.publications where {condition}"
        " order by published_at desc",
        parameters or [],
    ).fetchall()
    return [PublishedRecord(*row) for row in rows]


def publication_as_of(con: duckdb.DuckDBPyConnection, day: date) -> PublishedRecord:
    """The latest publication whose as_of is on or before ``day``."""
    found = publications(con, "as_of <= ?", [day])
    if found:
        return found[0]
    first = publications(con, "as_of is not null")
    since = (f" (the first publication is as of {min(p.as_of for p in first)})" if first
             else " (nothing has been published yet)")
    raise NothingPublished(f"nothing was published as of {day} or before{since}")


def find_publication(con: duckdb.DuckDBPyConnection, run_id_or_day: str) -> PublishedRecord:
    """A publication by its run id, or by a day (YYYY-MM-DD): the latest as of it or before."""
    found = publications(con, "run_id = ?", [run_id_or_day])
    if found:
        return found[0]
    try:
        day = date.fromisoformat(run_id_or_day)
    except ValueError:
        raise NothingPublished(f"no publication has run id {run_id_or_day!r} (give a run id or a date, YYYY-MM-DD)") from None
    return publication_as_of(con, day)


def previous_with_other_as_of(con: duckdb.DuckDBPyConnection, shown: PublishedRecord) -> PublishedRecord | None:
    """The latest publication before ``shown`` with a different (known) as_of: what the
    changes beside the headline figures, and an explanation by default, compare with."""
    earlier = publications(con, "published_at <= ?", [shown.published_at])
    return next((p for p in earlier if p.as_of != shown.as_of and p.as_of is not None), None)


def latest_publication(con: duckdb.DuckDBPyConnection) -> PublishedRecord | None:
    """The latest publication: the one mart.* holds."""
    found = publications(con)
    return found[0] if found else None


def _publication_id(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """The run's id; a retried flow run that publishes again (same id) gets `<id>~2`, `~3`..."""
    [(earlier,)] = con.execute(
        "select count(*) from history.publications where run_id = ? or starts_with(run_id, ? || '~')",
        [run_id, run_id],
    ).fetchall()
    return run_id if earlier == 0 else f"{run_id}~{earlier + 1}"


def _figures_differ(con: duckdb.DuckDBPyConnection, table: str, previous_run_id: str) -> bool:
    """Rows of mart.<table> and of the previous publication differ in any figure (NULLs equal)."""
    exclude = ", ".join(NOT_A_FIGURE)
    [(differing,)] = con.execute(
        f"""
        select count(*) from (
            (select * exclude ({exclude}) from mart.{table}
             except all
             select * exclude (run_id, {exclude}) from history.{table} where run_id = $previous)
            union all
            (select * exclude (run_id, {exclude}) from history.{table} where run_id = $previous
             except all
             select * exclude ({exclude}) from mart.{table})
        )
        """,
        {"previous": previous_run_id},
    ).fetchall()
    return differing > 0
