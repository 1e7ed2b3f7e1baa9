"""Reading the rows of files of one kind with DuckDB's CSV reader into a scratch database.

Every column is read as text (no type sniffing: npp, kpj and kbli keep their leading
zeros), with one `read_csv` per distinct header. Rows with the wrong number of fields are
bad rows (rule `field_count`); other parse errors reject the file. Identical copies of a
row within a file collapse and are counted as duplicates. The rows kept are those of the
slice's part: their hash of (file, key) decides, so every row of a key meets in one part.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from cakupan.config import WorkerLimits
from cakupan.ingest.audit import QuarantineRow
from cakupan.ingest.extracts import KEY_COLUMNS, SPEC_COLUMNS
from cakupan.ingest.read.checks import FileRejected, inspect
from cakupan.ingest.read.masking import mask_identifiers, masked_record

FIELD_COUNT_RULE = "field_count"
META_COLUMNS = ("_file", "_row", "_extract_date")
# The kept rows of a slice, in an in-memory database of the worker's connection (`KEPT`,
# attached by `scratch_database`): written there ~3x faster than compressed into the file,
# read many times by validation; past the memory limit DuckDB spills them to the private
# folder. A slice's own staging of every row (`read`, `positions`) is there too: read into
# memory ~2x faster than into the file, in order, under the same cap. Only the staging that
# the parts of a cut file share is a file (another process attaches it).
KEPT = "kept"
ROWS_TABLE = f"{KEPT}.rows"

_FIELD_COUNT_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")


@dataclass
class FileRead:
    """What reading did with one file (counts over the whole file, whatever the part)."""

    name: str
    kind: str
    extract_date: date
    sha256: str
    rows_read: int = 0  # data rows after the header, bad ones included
    rows_counted: int = 0  # the same, counted by the file checks apart from the CSV reader
    rows_duplicate: int = 0  # of this part's keys
    schema_drift: tuple[str, ...] = ()
    rejected_reason: str | None = None


@dataclass
class Staged:
    """A slice's rows in the scratch database, table `rows`: the spec columns as text plus
    `_file`, `_row` (1 = first data row), `_extract_date` (text), `_id` (unique) and
    `_key_hash`. `bad_rows`: the field_count rows, masked (part 0 reports them all)."""

    kind: str
    files: dict[str, FileRead]
    rows: int
    part: int = 0
    parts: int = 1
    bad_rows: list[QuarantineRow] = field(default_factory=list)


def read_rows(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    paths: list[Path],
    extract_dates: dict[str, date],
    part: int = 0,
    parts: int = 1,
    limits: WorkerLimits = WorkerLimits(),
) -> Staged:
    """Read files of one kind into `con` (a scratch database of the worker's own) and keep
    the rows of one part."""
    return keep_part(con, stage_files(con, kind, paths, extract_dates, limits, KEPT), part, parts)


@dataclass
class StagedFiles:
    """What staging found in the files of a slice, before a part is kept: tables `read`
    and `positions` of its database hold every row. Bad rows are masked: as JSON, this is
    what the parts of one staged file share besides that database."""

    kind: str
    files: dict[str, FileRead]
    bad_rows: list[QuarantineRow]

    def to_json(self) -> str:
        return json.dumps({
            "kind": self.kind,
            "files": [asdict(read) | {"extract_date": read.extract_date.isoformat()} for read in self.files.values()],
            "bad_rows": [asdict(row) for row in self.bad_rows],
        })

    @classmethod
    def from_json(cls, text: str) -> StagedFiles:
        found = json.loads(text)
        files = [
            FileRead(**(read | {"extract_date": date.fromisoformat(read["extract_date"]),
                                "schema_drift": tuple(read["schema_drift"])}))
            for read in found["files"]
        ]
        return cls(found["kind"], {read.name: read for read in files}, [QuarantineRow(**row) for row in found["bad_rows"]])


def stage_files(
    con: duckdb.DuckDBPyConnection, kind: str, paths: list[Path], extract_dates: dict[str, date],
    limits: WorkerLimits, database: str = "main",
) -> StagedFiles:
    """Check and read every row of the files into tables `read` and `positions` of `con`'s
    `database`."""
    files: dict[str, FileRead] = {}
    # Files sharing a header are read together; each with its blank lines (rare), by the
    # line numbers DuckDB gives (the header is line 1).
    by_header: dict[tuple[str, ...], list[tuple[Path, dict[int, str]]]] = {}
    for path in paths:
        found = inspect(path, kind, limits.max_file_bytes)
        read = FileRead(path.name, kind, extract_dates[path.name], found.sha256, rows_counted=found.data_rows)
        files[path.name] = read
        if isinstance(found.header, FileRejected):
            read.rejected_reason = str(found.header)
            continue
        read.schema_drift = tuple(mask_identifiers(c) for c in found.header if c not in SPEC_COLUMNS[kind])
        blanks = {row + 1: "" for row in found.blank_rows()}
        by_header.setdefault(found.header, []).append((path, blanks))

    spec = ", ".join(f'"{column}" varchar' for column in SPEC_COLUMNS[kind])
    con.execute(f"create table {database}.read ({spec}, _file varchar)")
    bad_rows: list[QuarantineRow] = []
    runs: list[tuple[str, np.ndarray]] = []
    for header, group in by_header.items():
        group_bad, group_runs = _read_group(con, kind, header, group, files, database)
        bad_rows.extend(group_bad)
        runs.extend(group_runs)
    _position_rows(con, kind, runs, files, database)
    return StagedFiles(kind, files, bad_rows)


def keep_part(
    con: duckdb.DuckDBPyConnection, found: StagedFiles, part: int, parts: int, staging: str = KEPT
) -> Staged:
    """Table `rows` of `con`: the rows of `part` of the staged files, identical copies
    collapsed. `staging`: the database holding `read` and `positions`: the slice's own (KEPT,
    dropped once the part is kept), or the staging the parts of a cut file share, attached
    under that name (left there)."""
    kind = found.kind
    files = {name: replace(read) for name, read in found.files.items()}  # duplicates: this part's
    _collapse_identical(con, kind, files, part, parts, staging)
    columns = ", ".join(f'r."{column}"' for column in SPEC_COLUMNS[kind])
    # The kept rows get a table of their own: DuckDB cannot estimate a positional scan's
    # size and would build join hash tables on it; a table also lets it skip blocks.
    con.execute(
        f"""
        create table {ROWS_TABLE} as
        select {columns}, r._file, p._row, p._extract_date, r.rowid as _id, p._key_hash
        from {staging}.read r positional join {staging}.positions p
        where p._extract_date is not null and p._key_hash % $parts = $part
          and r.rowid not in (select id from copies)
        """,
        {"parts": parts, "part": part},
    )
    con.execute("drop table copies")
    if staging == KEPT:
        con.execute(f"drop table {KEPT}.read")
        con.execute(f"drop table {KEPT}.positions")
    (rows,), = con.execute(f"select count(*) from {ROWS_TABLE}").fetchall()
    return Staged(kind, files, rows, part, parts, found.bad_rows if part == 0 else [])


def _position_rows(
    con: duckdb.DuckDBPyConnection, kind: str, runs: list[tuple[str, np.ndarray]], files: dict[str, FileRead],
    database: str,
) -> None:
    """Table `positions`, in `read`'s order (joined by position): each row's number, its
    extract date (NULL for a rejected file's rows) and the hash of (file, key)."""
    dates = [files[name].extract_date.isoformat() for name, _ in runs]
    lengths = [len(numbers) for _, numbers in runs]
    codes = np.repeat(np.arange(len(runs)), lengths)
    rejected = np.repeat(np.array([bool(files[name].rejected_reason) for name, _ in runs], bool), lengths)
    positions = pa.table(
        {
            "_row": np.concatenate([numbers for _, numbers in runs]) if runs else np.empty(0, np.int64),
            "_extract_date": pa.DictionaryArray.from_arrays(
                pa.array(codes, pa.int32(), mask=rejected), pa.array(dates, pa.string())
            ),
        }
    )
    con.register("_cakupan_positions", positions)
    try:
        con.execute(
            f"""
            create table {database}.positions as
            select p._row, p._extract_date::varchar as _extract_date,
                   hash(r._file, r."{KEY_COLUMNS[kind]}") as _key_hash
            from {database}.read r positional join _cakupan_positions p
            """
        )
    finally:
        con.unregister("_cakupan_positions")


def _read_group(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    header: tuple[str, ...],
    group: list[tuple[Path, dict[int, str]]],
    files: dict[str, FileRead],
    database: str,
) -> tuple[list[QuarantineRow], list[tuple[str, np.ndarray]]]:
    """One read_csv over files sharing a header, appended to `read` in file order; returns
    the bad rows and, per file in that order, the row numbers of its rows appended."""
    spec = SPEC_COLUMNS[kind]
    # A quoted empty field ("") is NULL too: the spec knows no empty text.
    selected = ", ".join(f'nullif("{column}", \'\') as "{column}"' for column in spec)
    con.execute(
        f"""
        insert into {database}.read
        select {selected}, parse_filename(_cakupan_source_file) as _file
        from read_csv(
            $paths, header = true, auto_detect = false, columns = $columns,
            delim = ',', quote = '"', escape = '"',
            -- named apart from any column an extract may carry (e.g. "filename")
            filename = '_cakupan_source_file', store_rejects = true,
            rejects_table = 'csv_rejects', rejects_scan = 'csv_rejects_scan'
        )
        """,
        {
            "paths": [str(path) for path, _ in group],
            "columns": {column: "varchar" for column in header},
        },
    )
    rejects = con.execute(
        """
        select parse_filename(scan.file_path), error.line, error.error_type,
               error.csv_line, error.error_message
        from csv_rejects error
        join csv_rejects_scan scan using (scan_id, file_id)
        order by 1, 2
        """
    ).fetchall()
    con.execute("drop table csv_rejects")
    con.execute("drop table csv_rejects_scan")

    bad_lines: dict[str, dict[int, str]] = {path.name: {} for path, _ in group}
    for file_name, line, error_type, csv_line, message in rejects:
        if error_type not in _FIELD_COUNT_ERRORS and not files[file_name].rejected_reason:
            files[file_name].rejected_reason = (
                f"CSV structure: {error_type.lower()} at row {line - 1} "
                f"({mask_identifiers(message)})"
            )
        bad_lines[file_name][line] = csv_line.strip("\r\n")

    bad_rows: list[QuarantineRow] = []
    runs: list[tuple[str, np.ndarray]] = []
    good_counts = _check_file_order(con, group, database)
    for path, blanks in group:
        read = files[path.name]
        good = good_counts.get(path.name, 0)
        if read.rejected_reason:
            runs.append((path.name, np.arange(1, good + 1)))  # rows dropped with the file
            continue
        lines = bad_lines[path.name] | blanks
        read.rows_read = good + len(lines)
        if read.rows_read != read.rows_counted:
            read.rejected_reason = (
                f"rows: the file has {read.rows_counted} data rows, the CSV reader accounted for "
                f"{read.rows_read} (a row it dropped, e.g. longer than its line limit)"
            )
            runs.append((path.name, np.arange(1, good + 1)))  # rows dropped with the file
            continue
        # DuckDB numbers records from the header (line 1): data row = line - 1.
        slots = np.ones(read.rows_read, dtype=bool)
        slots[[line - 2 for line in lines]] = False
        runs.append((path.name, np.flatnonzero(slots) + 1))
        bad_rows.extend(
            QuarantineRow(path.name, line - 1, [FIELD_COUNT_RULE], _field_count_record(header, csv_line))
            for line, csv_line in sorted(lines.items())
        )
    return bad_rows, runs


def _field_count_record(header: tuple[str, ...], csv_line: str) -> str:
    """The bad row as JSON: fields by header position while they last, then extras."""
    try:
        fields = next(csv.reader([csv_line]), [])
    except csv.Error:
        fields = [csv_line]
    record: dict[str, str | None | list[str]] = dict(zip(header, fields))
    if len(fields) > len(header):
        record["_extra_fields"] = fields[len(header):]
    return masked_record(record)


def _check_file_order(
    con: duckdb.DuckDBPyConnection, group: list[tuple[Path, dict[int, str]]], database: str
) -> dict[str, int]:
    """Rows per file of `group`; row numbers rely on DuckDB storing rows in file order:
    each file's rows one run of rowids, the runs in the order of `group`."""
    order = {path.name: position for position, (path, _) in enumerate(group)}
    runs = con.execute(
        f"""
        select _file, min(rowid), max(rowid), count(*) from {database}.read
        where list_contains($names, _file) group by _file
        """,
        {"names": list(order)},
    ).fetchall()
    runs.sort(key=lambda run: order[run[0]])
    in_order = all(last - first + 1 == count for _, first, last, count in runs) and all(
        earlier[2] < later[1] for earlier, later in zip(runs, runs[1:])
    )
    if not in_order:
        raise RuntimeError("DuckDB returned CSV rows out of file order: row numbers unknown")
    return {name: count for name, _, _, count in runs}


def _collapse_identical(
    con: duckdb.DuckDBPyConnection, kind: str, files: dict[str, FileRead], part: int, parts: int, staging: str
) -> None:
    """Keep the first of identical copies of a row of this part within a file (table
    `copies`: the others), and count them.

    NULLs compare equal here, a NULL key or value repeating like any other.
    """
    spec = ", ".join(f'r."{column}"' for column in SPEC_COLUMNS[kind])
    # Comparing whole rows is costly: only rows whose key repeats in their file can be
    # copies; a hash collision only adds candidates, compared in full after.
    con.execute(
        f"""
        create table copies as
        with kept as not materialized (
            select r.rowid as id, r._file, {spec}, p._key_hash as key_hash
            from {staging}.read r positional join {staging}.positions p
            where p._extract_date is not null and p._key_hash % $parts = $part
        ),
        repeated as (select key_hash from kept group by key_hash having count(*) > 1)
        select id, _file from kept
        where key_hash in (select key_hash from repeated)
        qualify row_number() over (partition by _file, {spec.replace('r."', '"')} order by id) > 1
        """,
        {"parts": parts, "part": part},
    )
    for file_name, count in con.execute("select _file, count(*) from copies group by _file").fetchall():
        files[file_name].rows_duplicate = count
