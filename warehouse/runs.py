"""audit.runs: one row per run, written at its start and at its end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from cakupan.warehouse.clock import utc_now

# audit.runs.state
RUNNING, COMPLETED, FAILED, CRASHED = "RUNNING", "COMPLETED", "FAILED", "CRASHED"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    flow: str
    parameters: dict
    started_at: datetime
    state: str


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, flow: str, parameters: dict) -> RunRecord:
    """Record a run as RUNNING; a retried run (same id) keeps its first start time."""
    existing = con.execute(
        "select started_at from audit.runs where run_id = ?", [run_id]
    ).fetchone()
    started_at = existing[0] if existing else utc_now()
    con.execute(
        """
        insert or replace into audit.runs
            (run_id, flow, parameters, started_at, finished_at, state, files_loaded, files_rejected, as_of)
        values (?, ?, ?, ?, null, ?, null, null, null)
        """,
        [run_id, flow, json.dumps(parameters, sort_keys=True, default=str), started_at, RUNNING],
    )
    return RunRecord(run_id, flow, parameters, started_at, RUNNING)


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    state: str,
    files_loaded: int,
    files_rejected: int,
    as_of: date | None,
) -> None:
    con.execute(
        """
        update audit.runs
        set finished_at = ?, state = ?, files_loaded = ?, files_rejected = ?, as_of = ?
        where run_id = ?
        """,
        [utc_now(), state, files_loaded, files_rejected, as_of, run_id],
    )


def close_abandoned_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Mark CRASHED the runs left RUNNING by a writer that is gone; returns how many.

    Only the holder of the writer lock may call this: every other run that ever started
    has ended, so a RUNNING row is one whose process was killed or could not record its end.
    """
    noticed_at = utc_now()
    closed = con.execute(
        """
        update audit.runs
        set state = ?, finished_at = ?,
            reason = 'ended without recording its end (killed, or out of disk or memory); noticed at ' || ?
        where state = ?
        returning run_id
        """,
        [CRASHED, noticed_at, f"{noticed_at:%Y-%m-%d %H:%M:%S} UTC", RUNNING],
    ).fetchall()
    return len(closed)


def last_backfill(con: duckdb.DuckDBPyConnection, start: date, end: date) -> RunRecord | None:
    """The latest backfill over exactly this range (a killed one is still RUNNING)."""
    rows = con.execute(
        """
        select run_id, flow, parameters, started_at, state
        from audit.runs
        where flow = 'backfill'
        order by started_at desc
        """
    ).fetchall()
    for run_id, flow, parameters, started_at, state in rows:
        params = json.loads(parameters or "{}")
        if params.get("start") == start.isoformat() and params.get("end") == end.isoformat():
            return RunRecord(run_id, flow, params, started_at, state)
    return None
