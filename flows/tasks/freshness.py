"""Freshness of the deliveries, for a nightly: recorded, warned, and posted as an artifact."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from cakupan.config import Settings
from cakupan.flows.retries import RETRY_ON_IO
from cakupan.warehouse.connection import connect
from cakupan.warehouse.freshness import Freshness, check_freshness, record_freshness


@task(name="check-deliveries", cache_policy=NO_CACHE, **RETRY_ON_IO)
def check_deliveries(warehouse: str, run_id: str, run_date: date, settings: Settings) -> Freshness:
    """Per kind, the newest loaded extract date against the run date; the verdict goes to
    audit.runs.freshness, a warning per late or stale kind to the log."""
    with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
        freshness = check_freshness(con, run_date, settings.freshness)
        record_freshness(con, run_id, freshness)
    log = get_run_logger()
    for problem in freshness.problems():
        log.warning(problem)
    create_table_artifact(
        table=[
            {
                "kind": kind.kind,
                "newest_extract": kind.newest.isoformat() if kind.newest else None,
                "days_before_run_date": kind.days_before,
                "run_date": run_date.isoformat(),
                "freshness": kind.level,
            }
            for kind in freshness.kinds
        ],
        key="cakupan-freshness",
        description=f"Newest loaded extract per kind against the run date {run_date}: {freshness.level}",
    )
    return freshness
