"""The audit records: file statuses, per-file outcomes (audit.extract_files) and
quarantined rows (audit.quarantine).

Every stage may use these; writing them to the warehouse is the writer's job (`load`),
always inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from cakupan.ingest.extracts import KINDS
from cakupan.warehouse.clock import utc_now
# The statuses a recorded outcome has (the warehouse's vocabulary), given to the stages from here.
from cakupan.warehouse.versions import LOADED, REJECTED, SUPERSEDED, keep_replaced_rows  # noqa: F401
# A file that changed while a worker read it: neither loaded nor rejected, never recorded in
# audit.extract_files; the next run takes it once it has settled.
UNSETTLED = "NOT SETTLED"


@dataclass(frozen=True)
class FileOutcome:
    """What became of one version of a landed file (one audit.extract_files row)."""

    name: str
    kind: str
    extract_date: date | None
    sha256: str
    status: str
    reason: str | None = None
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    rows_duplicate: int | None = None
    schema_drift: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuarantineRow:
    """A row kept out of raw.*: every rule it breaks and its record, nik and kpj masked."""

    file_name: str
    row_number: int
    rules: list[str]
    record: str


QUARANTINE_SCHEMA = pa.schema(
    [
        ("file_name", pa.string()),
        ("row_number", pa.int64()),
        ("rules", pa.list_(pa.string())),
        ("record", pa.string()),
    ]
)


def quarantine_table(rows: list[QuarantineRow]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"file_name": r.file_name, "row_number": r.row_number, "rules": r.rules, "record": r.record}
            for r in rows
        ],
        schema=QUARANTINE_SCHEMA,
    )


def record_outcomes(
    con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome], run_id: str
) -> None:
    """Write audit rows (not of UNSETTLED files); earlier loaded versions of these names become SUPERSEDED.

    Their raw rows stop counting (also after a rejected re-delivery) and move to
    raw.superseded_* for explanations; quarantine rows of a version being reloaded are
    deleted. Runs in the caller's transaction.
    """
    outcomes = [o for o in outcomes if o.status != UNSETTLED]
    if not outcomes:
        return
    processed_at = utc_now()
    incoming = pa.Table.from_pylist(
        [
            {
                "file_name": o.name, "kind": o.kind, "extract_date": o.extract_date,
                "sha256": o.sha256, "status": o.status, "reason": o.reason,
                "rows_read": o.rows_read, "rows_loaded": o.rows_loaded,
                "rows_quarantined": o.rows_quarantined, "rows_duplicate": o.rows_duplicate,
            }
            for o in outcomes
        ],
        schema=pa.schema(
            [
                ("file_name", pa.string()), ("kind", pa.string()),
                ("extract_date", pa.date32()), ("sha256", pa.string()),
                ("status", pa.string()), ("reason", pa.string()),
                ("rows_read", pa.int64()), ("rows_loaded", pa.int64()),
                ("rows_quarantined", pa.int64()), ("rows_duplicate", pa.int64()),
            ]
        ),
    )
    con.register("incoming_files", incoming)
    try:
        keep_replaced_rows(con, "incoming_files")
        con.execute(
            f"""
            update audit.extract_files set status = '{SUPERSEDED}'
            where status = '{LOADED}'
              and file_name in (select file_name from incoming_files)
            """
        )
        for kind in KINDS:
            con.execute(
                f"delete from raw.{kind} where file_name in (select file_name from incoming_files)"
            )
        con.execute(
            """
            delete from audit.quarantine
            where (file_name, sha256) in (select (file_name, sha256) from incoming_files)
            """
        )
        con.execute(
            """
            insert into audit.extract_files
            select file_name, kind, extract_date, sha256, status, reason, rows_read,
                   rows_loaded, rows_quarantined, rows_duplicate, $run_id, $processed_at
            from incoming_files
            """,
            {"run_id": run_id, "processed_at": processed_at},
        )
    finally:
        con.unregister("incoming_files")


def insert_quarantine(con: duckdb.DuckDBPyConnection, parquet: list[Path], loading: list[str]) -> None:
    """audit.quarantine rows of the files in `loading` from quarantine Parquet files (after
    their audit.extract_files rows are recorded: the sha256 comes from there)."""
    if not parquet or not loading:
        return
    con.execute(
        f"""
        insert into audit.quarantine
        select q.file_name, f.sha256, q.row_number, q.rules, q.record
        from read_parquet($paths) q
        join audit.extract_files f on f.file_name = q.file_name and f.status = '{LOADED}'
        where list_contains($loading, q.file_name)
        order by q.file_name, q.row_number
        """,
        {"paths": [str(path) for path in parquet], "loading": loading},
    )

