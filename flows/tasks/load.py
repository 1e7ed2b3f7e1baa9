"""Loading read and validated rows: circuit breaker, quarantine, pseudonymisation, raw.*.

All writes of one call happen in one transaction: a process killed mid-way leaves no
partial file, and a re-delivery's old rows stop counting in the same commit that records
the new version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb
import pandas as pd
import pyarrow as pa

from cakupan.flows.tasks.read import SPEC_COLUMNS, BadRow, Batch, masked_record
from cakupan.warehouse.pii import PiiKey, check_key, hmac_sql

LOADED = "LOADED"
REJECTED = "REJECTED"
SUPERSEDED = "SUPERSEDED"

# A file is a broken extract, not a few bad rows, past both bounds.
BREAKER_MIN_ROWS = 10
BREAKER_SHARE = 0.05


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
class _QuarantinedRow:
    file_name: str
    row_number: int
    rules: list[str]
    record: str


def breaker_trips(rows_quarantined: int, data_rows: int) -> bool:
    """True when quarantined rows exceed both 10 rows and 5% of the data rows."""
    return rows_quarantined > BREAKER_MIN_ROWS and rows_quarantined > BREAKER_SHARE * data_rows


def load_batches(
    con: duckdb.DuckDBPyConnection,
    validated: list[tuple[Batch, dict[int, list[str]]]],
    run_id: str,
    key: PiiKey | None,
) -> list[FileOutcome]:
    """Settle each file of each (batch, failing rows) pair and write it all in one commit.

    `key` is required when an enrolments file loads (nik and kpj are hashed with it).
    """
    outcomes: list[FileOutcome] = []
    quarantine: list[_QuarantinedRow] = []
    accepted: dict[str, list[pd.DataFrame]] = {kind: [] for kind in SPEC_COLUMNS}
    large: list[tuple[Batch, list[int], list[str]]] = []
    for batch, failures in validated:
        batch_outcomes, batch_quarantine, loaded_files = _settle(con, batch, failures)
        outcomes.extend(batch_outcomes)
        quarantine.extend(batch_quarantine)
        if batch.frame is None:
            large.append((batch, list(failures), loaded_files))
        else:
            passing = batch.frame.drop(index=list(failures))
            accepted[batch.kind].append(passing[passing["_file"].isin(loaded_files)])

    loads_enrolments = any(o.status == LOADED and o.kind == "enrolments" for o in outcomes)
    if loads_enrolments and key is None:
        raise ValueError("loading enrolments needs the pseudonymisation key")
    shas = {o.name: o.sha256 for o in outcomes if o.status == LOADED}
    con.begin()
    try:
        if loads_enrolments:
            check_key(con, key)
        record_outcomes(con, outcomes, run_id)
        _insert_quarantine(con, quarantine)
        for kind, frames in accepted.items():
            if frames:
                rows = pd.concat(frames, ignore_index=True)
                incoming = pa.Table.from_pandas(
                    rows.assign(_sha256=rows["_file"].map(shas)), preserve_index=False
                )
                with _registered(con, "incoming_rows", incoming):
                    _insert_raw(con, kind, "incoming_rows", key)
        for batch, failing, loaded_files in large:
            _insert_large(con, batch, failing, loaded_files, shas, key)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return outcomes


def record_outcomes(
    con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome], run_id: str
) -> None:
    """Write audit rows; earlier loaded versions of these names become SUPERSEDED.

    Their raw rows are deleted (a rejected re-delivery also stops the old rows counting),
    as are quarantine rows of a version being reloaded. Runs in the caller's transaction.
    """
    if not outcomes:
        return
    processed_at = datetime.now(timezone.utc).replace(tzinfo=None)
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
        con.execute(
            f"""
            update audit.extract_files set status = '{SUPERSEDED}'
            where status = '{LOADED}'
              and file_name in (select file_name from incoming_files)
            """
        )
        for kind in SPEC_COLUMNS:
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


def _settle(
    con: duckdb.DuckDBPyConnection, batch: Batch, failures: dict[int, list[str]]
) -> tuple[list[FileOutcome], list[_QuarantinedRow], list[str]]:
    """Outcome per file, the quarantined rows of loading files, and the files that load."""
    failing = _rows(con, batch, sorted(failures), ["_file", "_row"])
    failing_by_file = failing.groupby("_file", sort=False).indices
    rows_by_file = _rows_per_file(con, batch)
    bad_by_file: dict[str, list[BadRow]] = {}
    for bad in batch.bad_rows:
        bad_by_file.setdefault(bad.file_name, []).append(bad)

    outcomes: list[FileOutcome] = []
    loaded_files: list[str] = []
    for name, read in batch.files.items():
        identity = dict(
            name=name, kind=batch.kind, extract_date=read.extract_date, sha256=read.sha256,
            schema_drift=read.schema_drift,
        )
        if read.rejected_reason:
            outcomes.append(FileOutcome(status=REJECTED, reason=read.rejected_reason, **identity))
            continue
        bad = bad_by_file.get(name, [])
        keys = failing.index[failing_by_file.get(name, [])]
        rules = [row.rules for row in bad] + [failures[key] for key in keys]
        counts = dict(
            rows_read=read.rows_read, rows_loaded=rows_by_file.get(name, 0) - len(keys),
            rows_quarantined=len(rules), rows_duplicate=read.rows_duplicate,
        )
        if breaker_trips(len(rules), read.rows_read):
            outcomes.append(
                FileOutcome(
                    status=REJECTED, reason=_breaker_reason(rules, read.rows_read),
                    **identity, **(counts | {"rows_loaded": 0}),
                )
            )
            continue
        if counts["rows_read"] != counts["rows_loaded"] + len(rules) + read.rows_duplicate:
            raise RuntimeError(f"{name}: row counts do not reconcile {counts}")
        outcomes.append(FileOutcome(status=LOADED, **identity, **counts))
        loaded_files.append(name)

    # Records only for files that load: a broken file may have every row failing.
    loading = failing[failing["_file"].isin(loaded_files)]
    records = _rows(con, batch, list(loading.index), list(SPEC_COLUMNS[batch.kind])).astype(object)
    records = records.where(records.notna(), None).to_dict("records")
    failed_by_file: dict[str, list[_QuarantinedRow]] = {}
    for key, file_name, row_number, record in zip(
        loading.index, loading["_file"], loading["_row"], records
    ):
        failed_by_file.setdefault(file_name, []).append(
            _QuarantinedRow(file_name, int(row_number), failures[key], masked_record(record))
        )
    quarantine: list[_QuarantinedRow] = []
    for name in loaded_files:
        quarantine.extend(
            _QuarantinedRow(bad.file_name, bad.row_number, bad.rules, bad.record)
            for bad in bad_by_file.get(name, [])
        )
        quarantine.extend(failed_by_file.get(name, []))
    return outcomes, quarantine, loaded_files


def _rows(
    con: duckdb.DuckDBPyConnection, batch: Batch, keys: list[int], columns: list[str]
) -> pd.DataFrame:
    """`columns` of the batch rows `keys` (frame index or `_id`), indexed by key, in key order."""
    if batch.frame is not None:
        return batch.frame.loc[keys, columns]
    wanted = pa.table({"_id": pa.array(keys, pa.int64())})
    selected = ", ".join(f'"{column}"' for column in columns)
    with _registered(con, "_cakupan_wanted", wanted):
        return (
            con.sql(
                f"""
                select _id, {selected} from {batch.table}
                where _id in (select _id from _cakupan_wanted) order by _id
                """
            )
            .to_arrow_table().to_pandas().set_index("_id")
        )


def _rows_per_file(con: duckdb.DuckDBPyConnection, batch: Batch) -> dict[str, int]:
    if batch.frame is not None:
        return {name: int(rows) for name, rows in batch.frame.groupby("_file", sort=False).size().items()}
    return dict(con.execute(f"select _file, count(*) from {batch.table} group by _file").fetchall())


def _insert_large(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    failing: list[int],
    loaded_files: list[str],
    shas: dict[str, str],
    key: PiiKey | None,
) -> None:
    """Insert a large batch's passing rows of loading files straight from DuckDB."""
    if not loaded_files:
        return
    excluded = pa.table({"_id": pa.array(failing, pa.int64())})
    loading = pa.table({"_file": loaded_files, "_sha256": [shas[name] for name in loaded_files]})
    with _registered(con, "_cakupan_failing", excluded), _registered(con, "_cakupan_loading", loading):
        _insert_raw(
            con, batch.kind,
            f"""(
                select r.*, l._sha256 from {batch.table} r join _cakupan_loading l using (_file)
                where r._id not in (select _id from _cakupan_failing)
            )""",
            key,
        )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def _breaker_reason(rules_by_row: list[list[str]], data_rows: int) -> str:
    rules = Counter(rule for rules in rules_by_row for rule in rules)
    listed = ", ".join(f"{rule} ({count})" for rule, count in rules.most_common(5))
    return (
        f"circuit breaker: {len(rules_by_row)} of {data_rows} data rows quarantined "
        f"(more than {BREAKER_MIN_ROWS} and more than {BREAKER_SHARE:.0%}); rules: {listed}"
    )


def _insert_quarantine(con: duckdb.DuckDBPyConnection, rows: list[_QuarantinedRow]) -> None:
    if not rows:
        return
    incoming = pa.table(
        {
            "file_name": [row.file_name for row in rows],
            "row_number": pa.array([row.row_number for row in rows], pa.int64()),
            "rules": [row.rules for row in rows],
            "record": [row.record for row in rows],
        }
    )
    con.register("incoming_quarantine", incoming)
    try:
        con.execute(
            """
            insert into audit.quarantine
            select q.file_name, f.sha256, q.row_number, q.rules, q.record
            from incoming_quarantine q
            join audit.extract_files f
              on f.file_name = q.file_name and f.status = 'LOADED'
            """
        )
    finally:
        con.unregister("incoming_quarantine")


def _insert_raw(
    con: duckdb.DuckDBPyConnection, kind: str, source: str, key: PiiKey | None
) -> None:
    """Typed insert from `source` (the rows plus `_sha256`); enrolments get nik and kpj
    replaced by their HMAC inside DuckDB."""
    if kind == "employers":
        con.execute(
            f"""
            insert into raw.employers
            select _file, _sha256, cast(_extract_date as date), _row, npp, name, kbli,
                   district, size_class, cast(reported_workers as bigint),
                   cast(registered_on as date), status, cast(updated_at as timestamp)
            from {source}
            """
        )
    else:
        con.execute(
            f"""
            insert into raw.enrolments
            select _file, _sha256, cast(_extract_date as date), _row,
                   {hmac_sql("kpj")}, {hmac_sql("nik")}, npp, segment, kbli, district,
                   programs, cast(wage as bigint), contribution_source,
                   cast(start_date as date), cast(end_date as date), status,
                   cast(updated_at as timestamp)
            from {source}
            """,
            key.sql_parameters(),
        )
