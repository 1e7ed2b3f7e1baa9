"""The errors the `cakupan` command turns into exit statuses, and that mapping, in one place.

| exit | meaning | what the command maps to it |
|---|---|---|
| 0 | the run succeeded | a flow's Completed state |
| 1 `EXIT_FAILED` | it ran, and failed | a flow's Failed state: a file rejected, a stale delivery, or an error the flow met (`Refused` and its subclasses, `DiskFull`, `SlicesFailed`, `NothingToResume`, any other), said in one line; a Prefect server the command could not start (`Refused`); `explain` problems; any exception it did not expect |
| 2 `EXIT_USAGE` | a usage error: nothing ran | a bad option or date (typer's `BadParameter`); before any run, a `Refused` (missing or short key, no Dask scheduler at the address, a bad `CAKUPAN_*` value of the run's settings) or a Prefect API that does not answer; what `serve` finds would fail every run; `NothingPublished`, `ExplainError` |

The command says a `Stop` (message, exit status) in one line and exits with its status.
The subclasses of `Refused` live beside what they check (`WarehouseBusy`, `WarehouseDamaged`,
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
