"""Retry a task only when it failed on I/O: the one kind of failure a second try can mend.

Bad data never raises (it is quarantined or rejected), and a crash of GX or of a model is
a bug that a retry would only repeat.
"""

from __future__ import annotations

import duckdb
import httpx

TRANSIENT = (OSError, duckdb.IOException, httpx.TransportError)


def failed_on_io(task, task_run, state) -> bool:
    try:
        state.result()
    except TRANSIENT:
        return True
    except Exception:
        return False
    return False


RETRY_ON_IO = {"retries": 2, "retry_delay_seconds": 5, "retry_condition_fn": failed_on_io}
