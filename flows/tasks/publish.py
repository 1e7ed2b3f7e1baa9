"""Rebuild the published tables from everything loaded, with this run's reference data."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from cakupan.config import Settings
from cakupan.transforms import build
from cakupan.warehouse.connection import connect
from cakupan.warehouse.publications import Publication
from cakupan.warehouse.reference import load_reference
from cakupan.flows.retries import RETRY_ON_IO


@task(name="publish-tables", cache_policy=NO_CACHE, **RETRY_ON_IO)
def publish_tables(warehouse: str, publication: Publication, settings: Settings) -> date | None:
    """Reload ref.* from the reference files (a transaction of its own, committed first),
    then rebuild every model and append the publication to history.* (one transaction);
    returns as_of (transforms/core/as_of.sql)."""
    with connect(warehouse, memory_limit=settings.duckdb_memory_limit) as con:
        load_reference(con, settings.reference)
        return build(con, publication).as_of
