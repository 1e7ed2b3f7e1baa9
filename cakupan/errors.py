"""The errors the `cakupan` command turns into exit statuses, and that mapping, in one place.

| exit | when | raised as |
|---|---|---|
| 0 | the run succeeded | |
| 1 `EXIT_FAILED` | the run ran and ended Failed: a file rejected, a delivery stale, a step failed | inside a flow: `Refused` (and its subclasses), `DiskFull`, `SlicesFailed`, `NothingToResume` or any other exception end the flow Failed with one line; the command also maps a Prefect server it could not start (`Refused`) and an exception it did not expect |
| 2 `EXIT_USAGE` | a usage error: nothing ran | a bad option or date (typer's `BadParameter`); before the flow starts, a `Refused` (missing or short key, unreachable Dask scheduler, Prefect API not answering); `NothingPublished`, `ExplainError` |

The command (`cakupan/cli.py`) says a `Stop` in one line and exits with its code. The
subclasses of `Refused` live beside what they check (`WarehouseBusy`, `WarehouseDamaged`,
`PiiKey*`, `BadParameter`, `DaskUnreachable`, `EmbeddedServerFailed`). This module imports
nothing, so every part of the library may raise these.
"""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2


class Stop(Exception):
    """An error already phrased for the user: message, exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class Refused(RuntimeError):
    """A run refused before writing anything; the message says why and what to do."""


class DiskFull(RuntimeError):
    """A write failed for want of disk space; the message names the folder and what to free."""


class SlicesFailed(RuntimeError):
    """Slices a worker could not prepare: their files were not loaded (resume redoes them)."""


class NothingToResume(RuntimeError):
    """--resume was asked but the last backfill over the range completed (or none ran)."""


class NothingPublished(LookupError):
    """No publication is as of the asked day or before."""


class ExplainError(LookupError):
    """The explanation cannot be asked: a publication or year not found; one line."""
