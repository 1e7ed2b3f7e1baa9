"""The warehouse's one clock of record: every time it keeps is a UTC instant (TIMESTAMPTZ),
whatever the time zone of the machine, the cron line or the Prefect worker that wrote it.

Sessions are pinned to UTC (connection.py), so DuckDB shows and returns these times in UTC.
Warehouses from before kept naive times; `upgrade_to_utc_instants` converts them once, when a
writer opens the warehouse.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from cakupan.warehouse.transaction import transaction

# Columns written as naive UTC by earlier versions: the same instants, now marked as UTC.
_NAIVE_UTC = (
    ("audit", "extract_files", "processed_at"),
    ("audit", "pii_key", "recorded_at"),
    ("history", "publications", "published_at"),
)
# Columns written by earlier versions with the writing machine's local clock.
_NAIVE_LOCAL = (("audit", "runs", "started_at"), ("audit", "runs", "finished_at"))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time; a naive one is read as this machine's local time, as the earlier
    versions that wrote it meant it."""
    return moment.astimezone(timezone.utc)


def upgrade_to_utc_instants(con: duckdb.DuckDBPyConnection) -> None:
    """Turn a warehouse's naive timestamps into UTC instants, in one transaction, once.

    The local times of audit.runs cannot be known exactly: they are read in this process's
    time zone, the one the same service wrote them in (README, "Readings of the spec").
    """
    naive = set(con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'TIMESTAMP'"
    ).fetchall())
    utc_columns = [column for column in _NAIVE_UTC if column in naive]
    local_columns = [column for column in _NAIVE_LOCAL if column in naive]
    if not utc_columns and not local_columns:
        return
    with transaction(con):
        runs = con.execute("select run_id, started_at, finished_at from audit.runs").fetchall() if local_columns else []
        for schema, table, column in utc_columns + local_columns:
            con.execute(
                f"alter table {schema}.{table} alter {column} type timestamptz using {column} at time zone 'UTC'"
            )
        con.executemany(
            "update audit.runs set started_at = ?, finished_at = ? where run_id = ?",
            [[as_utc(started), finished and as_utc(finished), run_id] for run_id, started, finished in runs],
        )
