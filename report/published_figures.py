"""What the report needs from history.*: which publication it shows, the one before it with a
different as_of (for the changes beside the headline figures), and the city coverage rate of
the shown year as published on each as_of (for the history chart)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from cakupan.report.data import PublishedTable, publish_frame
from cakupan.warehouse.publications import HISTORY_TABLES, PublishedRecord, previous_with_other_as_of


@dataclass(frozen=True)
class PublishedHistory:
    """The shown publication, the previous one with a different as_of (None for the first),
    and the city rows of every publication up to the shown one."""

    shown: PublishedRecord
    previous: PublishedRecord | None
    previous_city: pd.DataFrame | None
    city_by_as_of: pd.DataFrame  # as_of, year, coverage_rate: the latest publication per as_of

    def rate_by_as_of(self, year: int) -> pd.DataFrame:
        """The city coverage rate of ``year`` as published on each as_of, oldest first."""
        rows = self.city_by_as_of[self.city_by_as_of["year"] == year]
        return rows[["as_of", "coverage_rate"]].sort_values("as_of").reset_index(drop=True)


def read_publication(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, PublishedTable]:
    """The coverage tables as that publication published them, in the report's form."""
    return {
        name: publish_frame(con, name, f"history.{name}", run_id)
        for name in HISTORY_TABLES
    }


def read_history(con: duckdb.DuckDBPyConnection, shown: PublishedRecord) -> PublishedHistory:
    previous = previous_with_other_as_of(con, shown)
    previous_city = None
    if previous is not None:
        previous_city = con.execute(
            "select * exclude (run_id) from history.coverage_city_year where run_id = ? order by year",
            [previous.run_id],
        ).df()
    city_by_as_of = con.execute(
        """
        with latest_per_as_of as (
            select run_id, as_of
            from history.publications
            where published_at <= ? and as_of is not null
            qualify row_number() over (partition by as_of order by published_at desc) = 1
        )
        select latest_per_as_of.as_of, city.year, city.coverage_rate
        from latest_per_as_of
        join history.coverage_city_year as city using (run_id)
        order by latest_per_as_of.as_of, city.year
        """,
        [shown.published_at],
    ).df()
    return PublishedHistory(shown, previous, previous_city, city_by_as_of)
