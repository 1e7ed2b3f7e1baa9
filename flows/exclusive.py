"""One writer at a time, for the whole run.

Every run takes the file lock beside the warehouse (honoured by the CLI, deployments and
tests alike). With a Prefect server configured, the run also takes a slot of the global
concurrency limit `cakupan-warehouse` strictly, so a missing limit is an error rather than
silently no limit; `cakupan serve` creates it.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from prefect.concurrency.sync import concurrency
from prefect.settings import PREFECT_API_URL

from cakupan.config import WAREHOUSE_CONCURRENCY_LIMIT, WRITER_WAIT_SECONDS
from cakupan.flows.embedded_server import embedded_api_url
from cakupan.warehouse.connection import WarehouseBusy
from cakupan.warehouse.lock import writer_lock


def prefect_server_configured() -> bool:
    """A shared Prefect server, not the command's own embedded one (the file lock serves that)."""
    url = PREFECT_API_URL.value()
    return bool(url) and url != embedded_api_url()


@contextmanager
def sole_writer(warehouse: str | Path, wait_seconds: float = WRITER_WAIT_SECONDS) -> Iterator[None]:
    with ExitStack() as stack:
        if prefect_server_configured():
            try:
                stack.enter_context(
                    concurrency(WAREHOUSE_CONCURRENCY_LIMIT, occupy=1, timeout_seconds=wait_seconds, strict=True)
                )
            except TimeoutError:
                raise WarehouseBusy(
                    f"{warehouse}: another run holds the Prefect concurrency limit "
                    f"'{WAREHOUSE_CONCURRENCY_LIMIT}'; gave up after waiting {wait_seconds:g} s"
                ) from None
        stack.enter_context(writer_lock(warehouse, wait_seconds))
        yield
