"""Progress of long work: a live display when the command runs on a terminal, log lines otherwise."""

from __future__ import annotations

import time
from typing import Callable

# files_done, files_total, rows_done, seconds_elapsed
ProgressListener = Callable[[int, int, int, float], None]

_listener: ProgressListener | None = None


def listen(listener: ProgressListener | None) -> None:
    """The command installs a terminal listener; deployments and pipes keep log lines."""
    global _listener
    _listener = listener


def time_left(done: int, total: int, elapsed: float) -> str:
    """'about 0:01:20 left' at the pace so far; '' before there is a pace or after the end."""
    if done <= 0 or done >= total or elapsed <= 0:
        return ""
    seconds = round(elapsed / done * (total - done))
    return f"about {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} left"


class FileProgress:
    """Told after every slice loaded: files completed (a file split in slices completes with
    its last one) and rows read."""

    def __init__(self, total: int, log: Callable[[str], None]):
        self.total, self.log = total, log
        self.files = self.rows = 0
        self.started = time.monotonic()

    def advance(self, files: int, rows: int) -> None:
        self.files += files
        self.rows += rows
        elapsed = time.monotonic() - self.started
        if _listener is not None:
            _listener(self.files, self.total, self.rows, elapsed)
        else:
            rate = self.rows / elapsed if elapsed > 0 else 0.0
            left = time_left(self.files, self.total, elapsed)
            self.log(f"{self.files} of {self.total} files done, {self.rows:,} rows ({rate:,.0f} rows/s"
                     + (f", {left})" if left else ")"))
