"""One writer at a time: a file lock beside the warehouse, honoured by every run.

DuckDB itself refuses a second writing process at once ("Could not set lock on file");
this lock turns that into a bounded wait and a clear message, and covers the whole run
(discovery to report), not only the moments a connection is open. The holder writes who it
is into the lock file (run, pid, since when), so a waiting run can say what it waits for, and
may add notes for the next holder: what to release should it die holding the lock (the kernel
releases the lock of a dead process; nothing else is released for it).
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable, Iterator

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
        return _holder_line(lock_path(warehouse).read_text())
    except OSError:
        return "another process"


def _holder_line(text: str) -> str:
    return text.split("\n", 1)[0].strip() or "another process"


@dataclass
class HeldLock:
    """The writer lock while this run holds it: who held it before, and the notes that
    holder left (it has ended, or died: the kernel released its lock)."""

    handle: IO[str]
    holder: str
    previous_holder: str
    previous_notes: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)

    def note(self, name: str, value: str) -> None:
        """Leave a note for the next holder (one word, then a value without a line break)."""
        self.notes[name] = value
        self._write()

    def _write(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write("\n".join([self.holder, *(f"{name} {value}" for name, value in self.notes.items())]))
        self.handle.flush()


class BoundedWait:
    """Waiting for what another run holds: at most `seconds`, said at once and then every
    REPORT_EVERY_SECONDS to `on_wait`."""

    def __init__(self, seconds: float, on_wait: Callable[[str], None] | None):
        self.seconds, self.on_wait = seconds, on_wait
        self.started = self.next_report = time.monotonic()

    def pause(self, busy: str, waiting: str) -> None:
        """Wait a moment more, or raise WarehouseBusy (`busy`) once the time is up; `waiting`
        is what the wait is for."""
        waited = time.monotonic() - self.started
        if waited >= self.seconds:
            raise WarehouseBusy(f"{busy}; gave up after waiting {self.seconds:g} s") from None
        if self.on_wait is not None and time.monotonic() >= self.next_report:
            self.on_wait(f"{waiting}; waited {waited:.0f} s of at most {self.seconds:g} s")
            self.next_report += REPORT_EVERY_SECONDS
        time.sleep(POLL_SECONDS)


@contextmanager
def writer_lock(
    warehouse: str | Path,
    wait_seconds: float,
    holder: str = "",
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[HeldLock]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds`, then raise WarehouseBusy.

    `holder` names this run in the lock file (e.g. "run <flow run id>"); while it waits,
    `on_wait` is told what it waits for, at once and then every REPORT_EVERY_SECONDS.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        waiting = BoundedWait(wait_seconds, on_wait)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder_now = lock_holder(warehouse)
                waiting.pause(busy=f"{warehouse}: another run is writing the warehouse ({holder_now})",
                              waiting=f"waiting for the warehouse {warehouse}: {holder_now} is writing it")
        handle.seek(0)
        previous = handle.read().split("\n")
        since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        held = HeldLock(
            handle, f"{holder + ', ' if holder else ''}pid {os.getpid()}, since {since}",
            previous_holder=_holder_line(previous[0]),
            previous_notes=dict(line.split(" ", 1) for line in previous[1:] if " " in line),
        )
        held._write()
        yield held
    finally:
        handle.close()  # closing releases the flock
