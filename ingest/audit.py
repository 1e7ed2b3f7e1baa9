"""The audit records: file statuses, per-file outcomes (audit.extract_files) and
quarantined rows (audit.quarantine); and what they say about the deliveries' freshness.

Every stage may use these; writing them to the warehouse is the writer's job (`load`),
always inside its transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from cakupan.config import FreshnessThresholds
from cakupan.ingest.extracts import KINDS
from cakupan.warehouse.clock import utc_now
from cakupan.warehouse.versions import keep_replaced_rows

LOADED = "LOADED"
REJECTED = "REJECTED"
SUPERSEDED = "SUPERSEDED"
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
        """
        insert into audit.quarantine
        select q.file_name, f.sha256, q.row_number, q.rules, q.record
        from read_parquet($paths) q
        join audit.extract_files f on f.file_name = q.file_name and f.status = 'LOADED'
        where list_contains($loading, q.file_name)
        order by q.file_name, q.row_number
        """,
        {"paths": [str(path) for path in parquet], "loading": loading},
    )


# --- Freshness of the deliveries: per kind, the newest loaded extract date against a run
# date. BPJS delivers both extracts every night; a kind whose newest loaded extract is more
# than late_days days before the run date is late, more than stale_days, stale.

LEVELS = ("fresh", "late", "stale")  # worst last


@dataclass(frozen=True)
class KindFreshness:
    kind: str
    newest: date | None  # None: no file of this kind loaded at all
    days_before: int | None  # run date minus newest
    level: str

    def describe(self, run_date: date) -> str:
        """`employers extract stale: newest 2026-02-03, 7 days before 2026-02-10`."""
        if self.newest is None:
            return f"{self.kind} extract {self.level}: none loaded by {run_date}"
        days = "day" if self.days_before == 1 else "days"
        return f"{self.kind} extract {self.level}: newest {self.newest}, {self.days_before} {days} before {run_date}"


@dataclass(frozen=True)
class Freshness:
    run_date: date
    kinds: tuple[KindFreshness, ...]

    @property
    def level(self) -> str:
        """The worst of the kinds: what audit.runs.freshness records."""
        return max((kind.level for kind in self.kinds), key=LEVELS.index, default="fresh")

    def problems(self, level: str = "late") -> list[str]:
        """One line per kind at ``level`` or worse."""
        worst_first = sorted(self.kinds, key=lambda kind: -LEVELS.index(kind.level))
        return [kind.describe(self.run_date) for kind in worst_first
                if LEVELS.index(kind.level) >= LEVELS.index(level)]

    def stale_message(self) -> str | None:
        """The one line a stale run ends with, or None when no kind is stale."""
        return "; ".join(self.problems("stale")) or None


def assess(newest_by_kind: dict[str, date | None], run_date: date, thresholds: FreshnessThresholds) -> Freshness:
    kinds = []
    for kind in KINDS:
        newest = newest_by_kind.get(kind)
        days_before = None if newest is None else (run_date - newest).days
        if days_before is None or days_before > thresholds.stale_days:
            level = "stale"
        elif days_before > thresholds.late_days:
            level = "late"
        else:
            level = "fresh"
        kinds.append(KindFreshness(kind, newest, days_before, level))
    return Freshness(run_date, tuple(kinds))


def newest_extracts(con: duckdb.DuckDBPyConnection, run_date: date) -> dict[str, date]:
    """Per kind, the newest extract date among loaded files dated on or before the run date."""
    return dict(con.execute(
        """
        select kind, max(extract_date)
        from audit.extract_files
        where status = 'LOADED' and extract_date <= ?
        group by kind
        """,
        [run_date],
    ).fetchall())


def check_freshness(con: duckdb.DuckDBPyConnection, run_date: date, thresholds: FreshnessThresholds) -> Freshness:
    return assess(newest_extracts(con, run_date), run_date, thresholds)


def freshness_of_latest_run(con: duckdb.DuckDBPyConnection, thresholds: FreshnessThresholds) -> Freshness | None:
    """What the latest run found (a nightly records its freshness in audit.runs as soon as it
    has loaded); None when that run is a backfill, has not checked yet, or nothing ran."""
    found = con.execute(
        "select parameters, freshness from audit.runs order by started_at desc limit 1"
    ).fetchall()
    if not found or found[0][1] is None:
        return None
    run_date = date.fromisoformat(json.loads(found[0][0])["as_of"])
    return check_freshness(con, run_date, thresholds)
