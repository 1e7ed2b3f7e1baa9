"""Pseudonymising a validated slice on the worker that read it, into Parquet for the writer.

nik and kpj are replaced by their HMAC-SHA256 under the key (computed inside DuckDB), the
passing rows typed as raw.* holds them; failing rows become quarantine records with nik,
kpj and anything shaped like them masked. What leaves the worker is two Parquet files
and counts: no raw identifier, no key (only its fingerprint), no frame, no connection.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cakupan.ingest.audit import QuarantineRow, quarantine_table
from cakupan.ingest.discover import Slice
from cakupan.ingest.extracts import PERSONAL_COLUMNS, SPEC_COLUMNS, raw_columns
from cakupan.ingest.read import ROWS_TABLE, Staged
from cakupan.ingest.read.masking import masked_record
from cakupan.warehouse.connection import in_any_order
from cakupan.warehouse.pii import PiiKey, hmac_sql


@dataclass(frozen=True)
class SliceFile:
    """One file's counts within one slice (summed over a file's slices by the writer)."""

    name: str
    kind: str
    extract_date: date
    sha256: str
    rows_read: int  # of the whole file, bad rows included
    rows_passing: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    schema_drift: tuple[str, ...] = ()
    rejected_reason: str | None = None
    changed: bool = False  # not the bytes discovery saw (still being delivered): not settled


@dataclass(frozen=True)
class SliceResult:
    """What a worker hands the writer: the slice, per-file counts, two Parquet paths, and
    the fingerprint of the key it hashed with (None for employers)."""

    work: Slice
    files: tuple[SliceFile, ...]
    rows: str
    quarantine: str
    key_fingerprint: str | None


def pseudonymise(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    failures: dict[int, list[str]],
    key: PiiKey | None,
    work: Slice,
    out_dir: Path,
    changed: frozenset[str] = frozenset(),
) -> SliceResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    failing = pa.table(
        {"_id": pa.array(list(failures), pa.int64()), "_rules": pa.array(list(failures.values()), pa.list_(pa.string()))}
    )
    shas = pa.table(
        {"_file": list(staged.files), "_sha256": [read.sha256 for read in staged.files.values()]}
    )
    con.register("_cakupan_failing", failing)
    con.register("_cakupan_shas", shas)
    try:
        quarantine = staged.bad_rows + _quarantine_records(con, staged.kind)
        rows_path = out_dir / f"{work.name}.rows.parquet"
        _write_rows(con, staged.kind, key, rows_path)
        passing = dict(
            con.execute(
                f"""
                select _file, count(*) from {ROWS_TABLE}
                where _id not in (select _id from _cakupan_failing) group by _file
                """
            ).fetchall()
        )
    finally:
        con.unregister("_cakupan_failing")
        con.unregister("_cakupan_shas")
    quarantine_path = out_dir / f"{work.name}.quarantine.parquet"
    pq.write_table(quarantine_table(quarantine), quarantine_path)

    rules: dict[str, Counter] = {name: Counter() for name in staged.files}
    quarantined: Counter = Counter()
    for row in quarantine:
        rules[row.file_name].update(row.rules)
        quarantined[row.file_name] += 1
    files = tuple(
        SliceFile(
            name=read.name, kind=read.kind, extract_date=read.extract_date, sha256=read.sha256,
            rows_read=read.rows_read, rows_passing=passing.get(read.name, 0),
            rows_quarantined=quarantined[read.name], rows_duplicate=read.rows_duplicate,
            rule_counts=dict(rules[read.name]), schema_drift=read.schema_drift,
            rejected_reason=read.rejected_reason, changed=read.name in changed,
        )
        for read in staged.files.values()
    )
    return SliceResult(
        work, files, str(rows_path), str(quarantine_path), key.fingerprint if key else None
    )


def _quarantine_records(con: duckdb.DuckDBPyConnection, kind: str) -> list[QuarantineRow]:
    """The failing rows as quarantine records, masked before they leave this function."""
    columns = ", ".join(f'r."{column}"' for column in SPEC_COLUMNS[kind])
    cursor = con.execute(
        f"""
        select r._file, r._row, f._rules, {columns}
        from {ROWS_TABLE} r join _cakupan_failing f using (_id)
        order by r._file, r._row
        """
    )
    records = []
    for file_name, row, rules, *values in cursor.fetchall():
        record = masked_record(dict(zip(SPEC_COLUMNS[kind], values)))
        records.append(QuarantineRow(file_name, int(row), sorted(rules), record))
    return records


def _write_rows(con: duckdb.DuckDBPyConnection, kind: str, key: PiiKey | None, path: Path) -> None:
    """The passing rows as raw.<kind> holds them, typed, nik and kpj as their HMAC."""
    source = "_file as file_name, _sha256 as sha256, cast(_extract_date as date) as extract_date, _row as row_number"
    typed = []
    for column, (raw, type_) in zip(SPEC_COLUMNS[kind], raw_columns(kind).items()):
        value = hmac_sql(column) if column in PERSONAL_COLUMNS else f'cast("{column}" as {type_})'
        typed.append(f'{value} as "{raw}"')
    select = ", ".join([source, *typed])
    parameters = key.sql_parameters() if any(column in PERSONAL_COLUMNS for column in SPEC_COLUMNS[kind]) else {}
    target = str(path).replace("'", "''")
    with in_any_order(con):
        con.execute(
            f"""
            copy (
                select {select}
                from {ROWS_TABLE} join _cakupan_shas using (_file)
                where _id not in (select _id from _cakupan_failing)
            ) to '{target}' (format parquet)
            """,
            parameters,
        )
