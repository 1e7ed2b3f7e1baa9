"""Reading the published tables, and the form in which the report may publish them.

Per-sector and per-district tables pass through ``suppress_small_cells``; the city table is
published exactly; the employer compliance list is published exactly (see ``cakupan.report``).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from cakupan.report.suppression import SUPPRESSED_SUFFIX, SuppressionImpossible, suppress_small_cells

CITY_TABLE = "coverage_city_year"
SECTOR_TABLE = "coverage_sector_year"
DISTRICT_TABLE = "coverage_district_year"
COMPLIANCE_TABLE = "employer_compliance"
PUBLISHED_TABLES = (CITY_TABLE, SECTOR_TABLE, DISTRICT_TABLE, COMPLIANCE_TABLE)
# A fixed row order: which cell becomes a complement must not depend on scan order.
ROW_ORDER = {CITY_TABLE: "year", SECTOR_TABLE: "year, sector", DISTRICT_TABLE: "year, district", COMPLIANCE_TABLE: "npp"}

CATEGORY_COUNTS = ("covered_formal", "covered_informal", "covered_vulnerable")
SUPPRESSION_RULES = {
    SECTOR_TABLE: dict(
        parts=CATEGORY_COUNTS,
        total="covered",
        by="year",
        derived={
            "covered": ("coverage_rate", "gap_workers", "on_track"),
            "covered_formal": ("formal_coverage_rate",),
        },
    ),
    DISTRICT_TABLE: dict(parts=CATEGORY_COUNTS, total="covered", by="year"),
}

_NULLABLE_PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


@dataclass(frozen=True)
class PublishedTable:
    """One mart table as the report publishes it, with the column types of its exports."""

    name: str
    frame: pd.DataFrame
    schema: pa.Schema

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pandas(self.frame, schema=self.schema, preserve_index=False)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    # fetchall, not fetchone: DuckDB 2.0 refuses further work while a result is unfinished
    [(found,)] = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return found > 0


def read_published(
    con: duckdb.DuckDBPyConnection, names: tuple[str, ...] = PUBLISHED_TABLES
) -> dict[str, PublishedTable]:
    """Every published mart table of ``names`` that exists, suppressed where the rules say so."""
    return {name: publish_frame(con, name, f"mart.{name}") for name in names if table_exists(con, "mart", name)}


def publish_frame(
    con: duckdb.DuckDBPyConnection, name: str, relation: str, run_id: str | None = None
) -> PublishedTable:
    """Published table ``name`` read from ``relation`` (the mart, or with ``run_id`` the rows
    one publication appended to history.*) in the form the report may publish: suppressed
    where the rules say so."""
    if run_id is None:
        query, parameters = f"select * from {relation}", []
    else:
        query, parameters = f"select * exclude (run_id) from {relation} where run_id = ?", [run_id]
    exact = con.sql(f"{query} order by {ROW_ORDER[name]}", params=parameters).to_arrow_table()
    frame = exact.to_pandas(types_mapper=_NULLABLE_PANDAS_TYPES.get)
    schema = exact.schema
    if name in SUPPRESSION_RULES:
        rules = SUPPRESSION_RULES[name]
        try:
            frame = suppress_small_cells(frame, **rules)
        except (KeyError, SuppressionImpossible) as exc:
            raise type(exc)(f"{relation}: {exc.args[0]}") from exc
        flags = [rules["total"], *rules["parts"]]
        schema = pa.schema(
            [*schema, *(pa.field(column + SUPPRESSED_SUFFIX, pa.bool_()) for column in flags)]
        )
        frame = frame[schema.names]
    return PublishedTable(name, frame, schema)


def no_target_path() -> pd.DataFrame:
    return pd.DataFrame({"year": pd.Series(dtype="Int64"), "target_rate": pd.Series(dtype="Float64")})


def read_target_path(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The city (`ALL`) target per year from ref.targets; empty when it is not loaded."""
    if not table_exists(con, "ref", "targets"):
        return no_target_path()
    return con.execute(
        "select year, target_rate from ref.targets where sector = 'ALL' order by year"
    ).df()


def read_sector_names_en(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """English section names from ref.sectors, when loaded (the marts carry Indonesian only)."""
    if not table_exists(con, "ref", "sectors"):
        return {}
    return dict(con.execute("select sector, sector_name_en from ref.sectors").fetchall())
