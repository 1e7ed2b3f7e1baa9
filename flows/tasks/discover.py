"""The discovery task: what the landing holds and is due; name-level rejections recorded."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from cakupan.config import Settings
from cakupan.flows.retries import RETRY_ON_IO
from cakupan.ingest.audit import record_outcomes
from cakupan.ingest.discover import Discovery, discover
from cakupan.warehouse.connection import connect
from cakupan.warehouse.transaction import transaction


@task(name="discover-files", cache_policy=NO_CACHE, **RETRY_ON_IO)  # reads the landing: never cached
def discover_files(
    landing: str,
    warehouse: str,
    run_id: str,
    settings: Settings,
    until: date | None = None,
    start: date | None = None,
    end: date | None = None,
    loaded_since: datetime | None = None,
) -> Discovery:
    """Discover, and record name-level rejections (superseding loaded versions)."""
    with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
        found = discover(
            Path(landing), con, until=until, start=start, end=end, loaded_since=loaded_since,
            settle_seconds=settings.settle_seconds,
        )
        with transaction(con):
            record_outcomes(con, found.rejected, run_id)
    return found
