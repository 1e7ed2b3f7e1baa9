"""One writer at a time, for the whole run.

Every run takes the file lock beside the warehouse (honoured by the CLI, deployments and
tests alike). With a Prefect server configured, the run then also takes a slot of the global
concurrency limit `cakupan-warehouse` strictly, so a missing limit is an error rather than
silently no limit; `cakupan serve` creates it. A run that has to wait says what it waits for
(the run holding the warehouse, since when) at once and every few seconds, in its log.

The slot is held by a lease the run renews while it lives. A run killed with kill -9 cannot
release it, but the kernel releases its file lock: the next run, holding the lock, knows the
previous holder is gone, releases the lease it noted in the lock file, says so, and goes
ahead at once. A lease nobody noted (a run killed in the instant between taking the slot and
noting it) ends by itself after LEASE_SECONDS.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator
from uuid import UUID

import httpx
from prefect import get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL

from cakupan.config import WAREHOUSE_CONCURRENCY_LIMIT
from cakupan.flows.compat import maintain_concurrency_lease
from cakupan.flows.embedded_server import embedded_api_url
from cakupan.errors import Refused
from cakupan.warehouse.lock import BoundedWait, HeldLock, writer_lock

# Renewed every 3/4 of it while the run lives; what a dead run's unnoted lease holds up at most.
LEASE_SECONDS = 60.0
LEASE_NOTE = "prefect-lease"
SLOT_BUSY = httpx.codes.LOCKED


def prefect_server_configured() -> bool:
    """A shared Prefect server, not the command's own embedded one (the file lock serves that)."""
    url = PREFECT_API_URL.value()
    return bool(url) and url != embedded_api_url()


@contextmanager
def sole_writer(warehouse: str | Path, wait_seconds: float) -> Iterator[None]:
    say = get_run_logger().warning
    with ExitStack() as stack:
        lock = stack.enter_context(
            writer_lock(warehouse, wait_seconds, holder=f"run {flow_run.id}", on_wait=say)
        )
        if prefect_server_configured():
            _take_concurrency_slot(stack, lock, warehouse, wait_seconds, say)
        yield


def _take_concurrency_slot(stack: ExitStack, lock: HeldLock, warehouse: str | Path, wait_seconds: float,
                           say) -> None:
    """The Prefect slot, asked for in turns so that the wait is reported and a dead holder's
    lease released between them; noted in the lock file, renewed while the run lives."""
    client = stack.enter_context(get_client(sync_client=True))
    dead_lease = lock.previous_notes.get(LEASE_NOTE)
    waiting = BoundedWait(wait_seconds, say)
    while True:
        try:
            response = client.increment_concurrency_slots_with_lease(
                names=[WAREHOUSE_CONCURRENCY_LIMIT], slots=1, mode="concurrency", lease_duration=LEASE_SECONDS,
                holder=ConcurrencyLeaseHolder(type="flow_run", id=UUID(str(flow_run.id))),
            )
            break
        except httpx.HTTPStatusError as error:
            if error.response.status_code != SLOT_BUSY:
                raise
        if dead_lease:
            # this run holds the file lock, so the run that noted this lease has ended
            _release(client, UUID(dead_lease))
            say(f"the previous writer of {warehouse} ({lock.previous_holder}) ended without releasing the "
                f"Prefect concurrency slot '{WAREHOUSE_CONCURRENCY_LIMIT}' (killed?): released it, going ahead")
            dead_lease = None
            continue
        waiting.pause(
            busy=f"{warehouse}: another run holds the Prefect concurrency limit '{WAREHOUSE_CONCURRENCY_LIMIT}'",
            waiting=f"waiting for the Prefect concurrency slot '{WAREHOUSE_CONCURRENCY_LIMIT}' of {warehouse}: held "
                    f"by another run (last writer: {lock.previous_holder}; a run of another warehouse on this "
                    f"server, or a killed run whose slot frees itself within {LEASE_SECONDS:g} s)",
        )
    granted = response.json()
    if not granted.get("limits"):
        raise Refused(
            f"the Prefect server has no concurrency limit '{WAREHOUSE_CONCURRENCY_LIMIT}': "
            f"`cakupan serve` (or any `cakupan` run) creates it"
        )
    lease = UUID(granted["lease_id"])
    lock.note(LEASE_NOTE, str(lease))
    stack.callback(_release, client, lease)
    # the file lock keeps writers apart should a renewal fail: a warning, not the end of the run
    stack.enter_context(maintain_concurrency_lease(lease, LEASE_SECONDS, raise_on_lease_renewal_failure=False))


def _release(client: SyncPrefectClient, lease: UUID) -> None:
    try:
        client.release_concurrency_slots_with_lease(lease)
    except httpx.HTTPStatusError as error:
        if error.response.status_code != httpx.codes.NOT_FOUND:  # its lease ended already
            raise
