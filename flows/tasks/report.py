"""The coverage report and the run's Prefect artifacts (no personal identifier in either)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from cakupan.config import report_dir
from cakupan.report import report_markdown, write_report
from cakupan.warehouse.connection import connect
from cakupan.flows.retries import RETRY_ON_IO


@task(name="write-report", cache_policy=NO_CACHE, **RETRY_ON_IO)
def write_coverage_report(warehouse: str) -> str:
    """Write the HTML/PNG report and exports beside the warehouse; returns the folder."""
    out_dir = report_dir(warehouse)
    with connect(warehouse, read_only=True) as con:
        write_report(con, out_dir)
    return str(out_dir)


@task(name="publish-artifacts", cache_policy=NO_CACHE, **RETRY_ON_IO)
def publish_artifacts(warehouse: str, run_summary_markdown: str) -> None:
    """A markdown artifact (files and coverage) and a table artifact of the city table."""
    out_dir = Path(report_dir(warehouse))
    with connect(warehouse, read_only=True) as con:
        coverage_markdown = report_markdown(con, out_dir)
        cursor = con.execute(
            "select * replace (cast(ref_date as varchar) as ref_date) from mart.coverage_city_year order by year"
        )
        columns = [column[0] for column in cursor.description]
        city = [dict(zip(columns, row)) for row in cursor.fetchall()]
    create_markdown_artifact(
        markdown=run_summary_markdown + "\n\n" + coverage_markdown,
        key="cakupan-run",
        description="Files loaded, quarantined and rejected; city coverage against target",
    )
    create_table_artifact(
        table=city,
        key="cakupan-coverage-city-year",
        description="mart.coverage_city_year",
    )
