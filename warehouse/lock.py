"""One writer at a time: a file lock beside the warehouse, honoured by every run.

DuckDB itself refuses a second writing process at once ("Could not set lock on file");
this lock turns that into a bounded wait and a clear message, and covers the whole run
(discovery to report), not only the moments a connection is open. The holder writes who it
is into the lock file (run, pid, since when), so a waiting run can say what it waits for.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from cakupan.warehouse.connection import WarehouseBusy

POLL_SECONDS = 0.5
# A waiting run says so at least this often (a person at a terminal, a log reader).
REPORT_EVERY_SECONDS = 5.0


def lock_path(warehouse: str | Path) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + ".lock")


def lock_holder(warehouse: str | Path) -> str:
    """Who holds (or last held) the writer lock, as its holder wrote it."""
    try:
        return lock_path(warehouse).read_text().strip() or "another process"
    except OSError:
        return "another process"


@contextmanager
def writer_lock(
    warehouse: str | Path,
    wait_seconds: float,
    holder: str = "",
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds`, then raise WarehouseBusy.

    `holder` names this run in the lock file (e.g. "run <flow run id>"); while it waits,
    `on_wait` is told what it waits for, at once and then every REPORT_EVERY_SECONDS.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        started = time.monotonic()
        next_report = started
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    raise WarehouseBusy(
                        f"{warehouse}: another run is writing the warehouse ({lock_holder(warehouse)}); "
                        f"gave up after waiting {wait_seconds:g} s"
                    ) from None
                if on_wait is not None and time.monotonic() >= next_report:
                    on_wait(
                        f"waiting for the warehouse {warehouse}: {lock_holder(warehouse)} is writing it; "
                        f"waited {waited:.0f} s of at most {wait_seconds:g} s"
                    )
                    next_report += REPORT_EVERY_SECONDS
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        handle.write(f"{holder + ', ' if holder else ''}pid {os.getpid()}, since {since}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock
