"""One writer at a time, for the whole run.

Every run takes the file lock beside the warehouse (honoured by the CLI, deployments and
tests alike). With a Prefect server configured, the run also takes a slot of the global
concurrency limit `cakupan-warehouse` strictly, so a missing limit is an error rather than
silently no limit; `cakupan serve` creates it. A run that has to wait says what it waits for
(the run holding the warehouse, since when) at once and every few seconds, in its log.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from prefect import get_run_logger
from prefect.concurrency.sync import concurrency
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL

from cakupan.config import WAREHOUSE_CONCURRENCY_LIMIT, writer_wait_seconds
from cakupan.flows.embedded_server import embedded_api_url
from cakupan.warehouse.connection import WarehouseBusy
from cakupan.warehouse.lock import REPORT_EVERY_SECONDS, lock_holder, writer_lock


def prefect_server_configured() -> bool:
    """A shared Prefect server, not the command's own embedded one (the file lock serves that)."""
    url = PREFECT_API_URL.value()
    return bool(url) and url != embedded_api_url()


@contextmanager
def sole_writer(warehouse: str | Path, wait_seconds: float | None = None) -> Iterator[None]:
    if wait_seconds is None:
        wait_seconds = writer_wait_seconds()
    say = get_run_logger().warning
    with ExitStack() as stack:
        if prefect_server_configured():
            _take_concurrency_slot(stack, warehouse, wait_seconds, say)
        stack.enter_context(writer_lock(warehouse, wait_seconds, holder=f"run {flow_run.id}", on_wait=say))
        yield


def _take_concurrency_slot(stack: ExitStack, warehouse: str | Path, wait_seconds: float, say) -> None:
    """The Prefect slot, asked for in short turns so that the wait is reported between them."""
    started = time.monotonic()
    while True:
        turn = max(0.1, min(REPORT_EVERY_SECONDS, wait_seconds - (time.monotonic() - started)))
        try:
            stack.enter_context(
                concurrency(WAREHOUSE_CONCURRENCY_LIMIT, occupy=1, timeout_seconds=turn, strict=True)
            )
            return
        except TimeoutError:
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                raise WarehouseBusy(
                    f"{warehouse}: another run holds the Prefect concurrency limit "
                    f"'{WAREHOUSE_CONCURRENCY_LIMIT}'; gave up after waiting {wait_seconds:g} s"
                ) from None
            # the slot's holder normally holds the file lock beside the warehouse too
            say(f"waiting for the Prefect concurrency slot '{WAREHOUSE_CONCURRENCY_LIMIT}' of {warehouse}: "
                f"held by another run (last writer: {lock_holder(warehouse)}); "
                f"waited {waited:.0f} s of at most {wait_seconds:g} s")
