"""The coverage report and the run's Prefect artifacts (no personal identifier in either)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from cakupan.config import Settings, report_dir
from cakupan.report.data import CITY_TABLE, read_published
from cakupan.report.explanation import bridges_markdown, bridges_since_previous
from cakupan.report.summary import report_markdown
from cakupan.report.tables import city_table
from cakupan.report.writer import write_report
from cakupan.transforms.explain import Explanation
from cakupan.warehouse.connection import connect
from cakupan.flows.retries import RETRY_ON_IO


@task(name="write-report", cache_policy=NO_CACHE, **RETRY_ON_IO)
def write_coverage_report(
    warehouse: str, settings: Settings, explained: tuple[Explanation, ...] | list[Explanation] = (),
) -> str:
    """Write the HTML/PNG report and exports beside the warehouse (the city's bridge taken
    from ``explained`` when it is there); returns the folder."""
    out_dir = report_dir(warehouse)
    with connect(warehouse, read_only=True, memory_limit=settings.duckdb_memory_limit) as con:
        write_report(con, out_dir, explained=explained, thresholds=settings.freshness,
                     memory_limit=settings.duckdb_memory_limit)
    return str(out_dir)


@task(name="publish-artifacts", cache_policy=NO_CACHE, **RETRY_ON_IO)
def publish_artifacts(warehouse: str, run_summary_markdown: str, memory_limit: str) -> None:
    """A markdown artifact (files and coverage) and a table artifact of the city table."""
    out_dir = Path(report_dir(warehouse))
    with connect(warehouse, read_only=True, memory_limit=memory_limit) as con:
        coverage_markdown = report_markdown(con, out_dir)
        city = city_table(read_published(con, (CITY_TABLE,))[CITY_TABLE].frame)
    create_markdown_artifact(
        markdown=run_summary_markdown + "\n\n" + coverage_markdown,
        key="cakupan-run",
        description="Files loaded, quarantined and rejected; city coverage against target",
    )
    create_table_artifact(
        table=city.records(),
        key="cakupan-coverage-city-year",
        description="mart.coverage_city_year",
    )


@task(name="explain-changes", cache_policy=NO_CACHE, **RETRY_ON_IO)
def publish_explanation(warehouse: str, memory_limit: str) -> list[Explanation]:
    """When this run's publication moved a city figure: a markdown artifact of the city's
    bridge since the previous publication, per moved year. Returns those bridges."""
    with connect(warehouse, read_only=True, memory_limit=memory_limit) as con:
        bridges = bridges_since_previous(con, memory_limit)
    if bridges:
        create_markdown_artifact(
            markdown=bridges_markdown(bridges),
            key="cakupan-explain",
            description="Why the published city figures moved since the previous publication",
        )
    return bridges
