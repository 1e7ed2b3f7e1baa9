"""What a person at a terminal sees while a command works: one live line that never stands
still (a spinner, the current step, the time elapsed) and, while extracts are generated or
files loaded, a bar with its rate and the time left. Log lines print above that line.

Off a terminal none of this runs: the flows write ordinary log lines instead.
"""

from __future__ import annotations

import logging
import re
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cakupan.progress import time_left

# The runbooks' step lines ("1/4 Discovering files ..."): each becomes the live line's text.
_STEP = re.compile(r"^\d+/\d+ ")


class TerminalProgress:
    def __init__(self, console: Console):
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("starting", total=None, detail="")
        self._started = time.monotonic()

    def __enter__(self) -> TerminalProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def step(self, text: str) -> None:
        """A new step of unknown length: the bar pulses, the elapsed time runs."""
        self._started = time.monotonic()
        self._bar.update(self._task, description=text, total=None, completed=0, detail="")

    def days(self, done: int, total: int) -> None:
        """Generation: days of extracts written."""
        self._counted("generating extracts", done, total, "days", rate="")

    def files(self, files_done: int, files_total: int, rows: int, elapsed: float) -> None:
        """Loading: a listener of cakupan.progress, called after every slice."""
        rate = f"{rows / elapsed:,.0f} rows/s" if elapsed > 0 else ""
        self._counted("loading files", files_done, files_total, "files", rate, elapsed)

    def _counted(self, text: str, done: int, total: int, unit: str, rate: str, elapsed: float | None = None) -> None:
        if self._bar.tasks[0].description != text:
            self.step(text)
        elapsed = time.monotonic() - self._started if elapsed is None else elapsed
        left = time_left(done, total, elapsed)
        detail = " · ".join(part for part in (f"{done:,}/{total:,} {unit}", rate, left) if part)
        self._bar.update(self._task, total=total, completed=done, detail=detail)
        self._bar.refresh()  # shown now, even when the next step follows within a refresh

    def step_from_log(self, record: logging.LogRecord) -> bool:
        """A logging filter: a runbook step line also becomes the live line's text."""
        message = record.getMessage()
        if _STEP.match(message):
            self.step(message)
        return True

