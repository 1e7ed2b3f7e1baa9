"""One writer at a time: a file lock beside the warehouse, honoured by every run.

DuckDB itself refuses a second writing process at once ("Could not set lock on file");
this lock turns that into a bounded wait and a clear message, and covers the whole run
(discovery to report), not only the moments a connection is open.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cakupan.warehouse.connection import WarehouseBusy

POLL_SECONDS = 0.5


def lock_path(warehouse: str | Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".lock")


@contextmanager
def writer_lock(warehouse: str | Path, wait_seconds: float) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds`, then raise WarehouseBusy."""
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise WarehouseBusy(
                        f"{warehouse}: another run is writing the warehouse ({holder}); "
                        f"gave up after waiting {wait_seconds:g} s"
                    ) from None
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock
