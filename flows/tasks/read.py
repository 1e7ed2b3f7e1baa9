"""Reading a batch of extract files of one kind with DuckDB's CSV reader.

Every column is read as text (no type sniffing: npp, kpj and kbli keep their leading
zeros). Cheap per-file checks come first (gzip, UTF-8, header), in one streaming pass;
files that pass are read with one `read_csv` per distinct header into a scratch DuckDB
database. Rows with the wrong number of fields come back as bad rows (rule `field_count`);
other parse errors reject the file. A batch of up to `SLICE_ROWS` lines comes back as one
pandas frame; a larger one (a province-scale initial extract: 13M rows, ~14 GB as one
frame) stays in DuckDB and is handed out in slices that never split the rows of one key
of one file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import itertools
import json
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cakupan.warehouse.pii import mask

SPEC_COLUMNS: dict[str, tuple[str, ...]] = {
    "employers": (
        "npp", "name", "kbli", "district", "size_class", "reported_workers",
        "registered_on", "status", "updated_at",
    ),
    "enrolments": (
        "kpj", "nik", "npp", "segment", "kbli", "district", "programs", "wage",
        "contribution_source", "start_date", "end_date", "status", "updated_at",
    ),
}
KEY_COLUMNS = {"employers": "npp", "enrolments": "kpj"}
PERSONAL_COLUMNS = ("nik", "kpj")
FIELD_COUNT_RULE = "field_count"
META_COLUMNS = ("_file", "_row", "_extract_date")

_FIELD_COUNT_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")
_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# A run of 11+ digits is a kpj or nik wherever it sits (a shifted field, a swapped column).
_IDENTIFIER_LIKE = re.compile(r"\d{11,}")
_BLANK_LINE = re.compile(r"\n\r?\n")
_CONTENT = re.compile(r"[^\r\n]")
_CHUNK_BYTES = 16 * 1024 * 1024

# Above this many lines a batch stays in DuckDB (in a scratch file, ~40 bytes a row once
# compressed) and is validated in slices of about this many rows, ~0.5 GB of pandas each;
# a million rows as one frame take ~1 GB.
SLICE_ROWS = 500_000


class FileRejected(ValueError):
    """A file-level problem: the whole file is rejected with this reason."""


@dataclass
class FileRead:
    """What reading did with one file."""

    name: str
    kind: str
    extract_date: date
    sha256: str
    rows_read: int = 0  # data rows after the header, bad ones included
    rows_duplicate: int = 0
    schema_drift: tuple[str, ...] = ()
    rejected_reason: str | None = None


@dataclass
class BadRow:
    """A row quarantined before validation, its record already masked."""

    file_name: str
    row_number: int
    rules: list[str]
    record: str


@dataclass
class Batch:
    """Rows of one kind, identical duplicates collapsed: the spec columns as text plus
    _file, _row and _extract_date (text, YYYY-MM-DD).

    A small batch is `frame`, index 0..n-1. A large one (`frame` None) is the DuckDB table
    `table` (with `_id` too: the index of the frames `batch_slice` gives) in the scratch
    database at `scratch`, validated in `slices` slices; `release` removes it.
    """

    kind: str
    frame: pd.DataFrame | None
    files: dict[str, FileRead]
    bad_rows: list[BadRow] = field(default_factory=list)
    table: str | None = None
    slices: int = 0
    scratch: Path | None = None


def masked_record(record: dict[str, str | None | list[str]]) -> str:
    """JSON of a row with nik, kpj and anything shaped like them masked (3573*******)."""
    return json.dumps(
        {column: _masked(column, value) for column, value in record.items()},
        ensure_ascii=False,
    )


def _masked(column: str, value: str | None | list[str]) -> str | None | list[str]:
    if isinstance(value, list):
        return [_masked(column, item) for item in value]
    if value is None:
        return None
    if column in PERSONAL_COLUMNS:
        return mask(value)
    return _mask_identifiers(value)


def _mask_identifiers(text: str) -> str:
    return _IDENTIFIER_LIKE.sub(lambda found: mask(found.group()), text)


def read_batch(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    paths: list[Path],
    extract_dates: dict[str, date],
) -> Batch:
    """Read files of one kind; `extract_dates` maps each file name to its date."""
    files: dict[str, FileRead] = {}
    # Files sharing a header are read together; each with its blank lines (rare, see below).
    by_header: dict[tuple[str, ...], list[tuple[Path, dict[int, str]]]] = {}
    lines = 0
    for path in paths:
        sha256, header, file_lines, has_blank_line = _inspect(path, kind)
        read = FileRead(path.name, kind, extract_dates[path.name], sha256)
        files[path.name] = read
        if isinstance(header, FileRejected):
            read.rejected_reason = str(header)
            continue
        read.schema_drift = tuple(column for column in header if column not in SPEC_COLUMNS[kind])
        blank_lines = _blank_lines(_text(path)) if has_blank_line else {}
        by_header.setdefault(header, []).append((path, blank_lines))
        lines += file_lines

    large = lines > SLICE_ROWS
    # A large batch goes to a database file: DuckDB writes it compressed as it reads (~0.5 GB
    # for 13M rows) where an in-memory table holds it uncompressed (~2.8 GB).
    scratch = Path(tempfile.mkdtemp(prefix="cakupan-read-")) if large else None
    target = str(scratch / "rows.duckdb").replace("'", "''") if scratch else ":memory:"
    con.execute(f"attach '{target}' as {_database(kind)}")
    batch = Batch(kind, None, files, [], scratch=scratch)
    try:
        batch.table, rows = _read_rows(con, kind, by_header, files, batch.bad_rows)
        if not large:
            columns = ", ".join(f'"{column}"' for column in (*SPEC_COLUMNS[kind], *META_COLUMNS))
            batch.frame = (
                con.sql(f"select {columns} from {batch.table} order by _id")
                .to_arrow_table().to_pandas()
            )
    except BaseException:
        release(con, batch)
        raise
    if large:
        batch.slices = max(1, -(-rows // SLICE_ROWS))
    else:
        release(con, batch)
        batch.table = None
    return batch


def batch_slice(con: duckdb.DuckDBPyConnection, batch: Batch, number: int) -> pd.DataFrame:
    """Slice `number` of a large batch as a frame to validate: the spec columns, `_file`
    and `_extract_date`, indexed by `_id`. All rows of one key of one file share a slice."""
    columns = ", ".join(f'"{column}"' for column in (*SPEC_COLUMNS[batch.kind], "_file", "_extract_date"))
    frame = con.sql(
        f"""
        select _id, {columns} from {batch.table}
        where _key_hash % $slices = $number order by _id
        """,
        params={"slices": batch.slices, "number": number},
    ).to_arrow_table().to_pandas()
    # An unnamed index: GX reports the rows of a named one as {name: label} dicts.
    return frame.set_index("_id").rename_axis(None)


def release(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Drop what `read_batch` keeps in DuckDB for `batch` (its scratch database)."""
    con.execute(f"detach database if exists {_database(batch.kind)}")
    if batch.scratch:
        shutil.rmtree(batch.scratch, ignore_errors=True)


def _database(kind: str) -> str:
    return f"_cakupan_{kind}"


def _tables(kind: str) -> dict[str, str]:
    return {part: f"{_database(kind)}.{part}" for part in ("read", "positions", "copies", "rows")}


def _read_rows(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    by_header: dict[tuple[str, ...], list[tuple[Path, dict[int, str]]]],
    files: dict[str, FileRead],
    bad_rows: list[BadRow],
) -> tuple[str, int]:
    """Read the groups into the scratch database; returns the table of the kept rows and
    their count.

    `read` gets the rows as read; `positions` holds, in `read`'s order (joined by
    position), each row's number and extract date, NULL for a rejected file's rows. The
    kept rows (no rejected file, no collapsed copy) are then copied into a table of their
    own: DuckDB cannot estimate a positional scan's size and would build join hash tables
    on it (all 13M rows); a table also lets it skip blocks when filtering.
    """
    names = _tables(kind)
    spec = ", ".join(f'"{column}" varchar' for column in SPEC_COLUMNS[kind])
    con.execute(f"create table {names['read']} ({spec}, _file varchar)")
    runs: list[tuple[str, np.ndarray]] = []
    for header, group in by_header.items():
        group_bad, group_runs = _read_group(con, kind, header, group, files, names["read"])
        bad_rows.extend(group_bad)
        runs.extend(group_runs)
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
            create table {names['positions']} as
            select _row, _extract_date::varchar as _extract_date from _cakupan_positions
            """
        )
    finally:
        con.unregister("_cakupan_positions")
    _collapse_identical(con, kind, names, files)
    columns = ", ".join(f'r."{column}"' for column in SPEC_COLUMNS[kind])
    con.execute(
        f"""
        create table {names['rows']} as
        select {columns}, r._file, p._row, p._extract_date, r.rowid as _id,
               hash(r._file, r."{KEY_COLUMNS[kind]}") as _key_hash
        from {names['read']} r positional join {names['positions']} p
        where p._extract_date is not null and r.rowid not in (select id from {names['copies']})
        """
    )
    for table in ("read", "positions", "copies"):
        con.execute(f"drop table {names[table]}")
    (rows,), = con.execute(f"select count(*) from {names['rows']}").fetchall()
    return names["rows"], rows


def _inspect(path: Path, kind: str) -> tuple[str, tuple[str, ...] | FileRejected, int, bool]:
    """One streaming pass over a file (an initial extract is ~2 GB): sha256 of its bytes,
    its header or why the file is rejected, its line count, and whether blank lines sit
    between its rows. Problems rank as if the file were decoded whole: gzip, then encoding,
    then header."""
    with path.open("rb") as raw:
        hashing = _Hashing(raw)
        try:
            header, lines, has_blank_line = _scan(_chunks(hashing, path.name.endswith(".gz")), kind)
        except FileRejected as problem:
            header, lines, has_blank_line = problem, 0, False
        while hashing.read(_CHUNK_BYTES):  # the rest of the bytes, for the sha256
            pass
    return hashing.sha256.hexdigest(), header, lines, has_blank_line


class _Hashing:
    """A binary file whose bytes read so far are hashed."""

    def __init__(self, file):
        self.file = file
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha256.update(data)
        return data


def _chunks(file: _Hashing, gzipped: bool) -> Iterator[bytes]:
    if not gzipped:
        while chunk := file.read(_CHUNK_BYTES):
            yield chunk
        return
    try:
        with gzip.GzipFile(fileobj=file, mode="rb") as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                yield chunk
    except (gzip.BadGzipFile, EOFError, zlib.error) as problem:
        raise FileRejected(f"gzip: cannot decompress ({problem})") from None


def _scan(chunks: Iterator[bytes], kind: str) -> tuple[tuple[str, ...], int, bool]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    problem: FileRejected | None = None
    fed = newlines = 0  # bytes given to the decoder, and their line breaks
    head = tail = ""  # the text up to the first line break; the last two characters
    started = has_blank_line = blank_pending = False
    for chunk in itertools.chain(chunks, [None]):  # None: the end, where the decoder flushes
        if problem:
            continue  # still decompressed to the end: a gzip error outranks it
        if fed == 0 and chunk and chunk.startswith(_UTF16_BOMS):
            problem = FileRejected("encoding: UTF-16 (a spreadsheet's \"Unicode text\"), not UTF-8")
            continue
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk or b"", final=chunk is None)
        except UnicodeDecodeError as error:
            data = pending + (chunk or b"")
            position = fed - len(pending) + error.start
            line = newlines + data[: error.start].count(b"\n") + 1
            problem = FileRejected(f"encoding: not valid UTF-8 (byte {position}, line {line})")
            continue
        if chunk:
            fed += len(chunk)
            newlines += chunk.count(b"\n")
        if not started and text:
            text, started = text.removeprefix(_BOM), True
        if "\n" not in head:
            head += text
        # A blank line counts only with content after it (trailing ones end the file).
        window = tail + text
        if blank_pending and _CONTENT.search(text):
            has_blank_line = True
        elif not has_blank_line and (found := _BLANK_LINE.search(window)):
            blank_pending = True
            has_blank_line = _CONTENT.search(window, found.end()) is not None
        tail = window[-2:]
    if problem:
        raise problem
    return _header(head, kind), newlines, has_blank_line


def _text(path: Path) -> str:
    """The whole decoded text of a file that passed `_inspect`."""
    content = path.read_bytes()
    if path.name.endswith(".gz"):
        content = gzip.decompress(content)
    return content.decode("utf-8").removeprefix(_BOM)


def _header(text: str, kind: str) -> tuple[str, ...]:
    first_line = text.split("\n", 1)[0].removesuffix("\r")
    if not first_line.strip():
        raise FileRejected("header: missing (the file has no header row)")
    try:
        header = tuple(next(csv.reader([first_line], strict=True)))
    except csv.Error as problem:
        raise FileRejected(f"header: not parseable as CSV ({problem})") from None
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        raise FileRejected(f"header: column(s) named twice: {', '.join(repeated)}")
    missing = [column for column in SPEC_COLUMNS[kind] if column not in header]
    if missing:
        raise FileRejected(f"header: required column(s) missing: {', '.join(missing)}")
    return header


def _read_group(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    header: tuple[str, ...],
    group: list[tuple[Path, dict[int, str]]],
    files: dict[str, FileRead],
    table: str,
) -> tuple[list[BadRow], list[tuple[str, np.ndarray]]]:
    """One read_csv over files sharing a header, appended to `table` in file order; returns
    the bad rows and, per file in that order, the row numbers of its rows appended."""
    spec = SPEC_COLUMNS[kind]
    # A quoted empty field ("") is NULL too: the spec knows no empty text.
    selected = ", ".join(f'nullif("{column}", \'\') as "{column}"' for column in spec)
    con.execute(
        f"""
        insert into {table}
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
                f"({_mask_identifiers(message)})"
            )
        bad_lines[file_name][line] = csv_line.strip("\r\n")

    bad_rows: list[BadRow] = []
    runs: list[tuple[str, np.ndarray]] = []
    good_counts = _check_file_order(con, table, group)
    for path, blank_lines in group:
        read = files[path.name]
        good = good_counts.get(path.name, 0)
        if read.rejected_reason:
            runs.append((path.name, np.arange(1, good + 1)))  # rows dropped with the file
            continue
        lines = bad_lines[path.name] | blank_lines
        read.rows_read = good + len(lines)
        # DuckDB numbers records from the header (line 1): data row = line - 1.
        slots = np.ones(read.rows_read, dtype=bool)
        slots[[line - 2 for line in lines]] = False
        runs.append((path.name, np.flatnonzero(slots) + 1))
        bad_rows.extend(
            BadRow(path.name, line - 1, [FIELD_COUNT_RULE], _field_count_record(header, csv_line))
            for line, csv_line in sorted(lines.items())
        )
    return bad_rows, runs


def _blank_lines(text: str) -> dict[int, str]:
    """Blank lines between data rows: DuckDB skips them but counts them as lines.

    Rare, so the exact (quote-aware) numbering is only computed when `_inspect` saw one;
    a blank line is a row of one field, quarantined as field_count. Trailing blank
    lines end the file and are no rows.
    """
    records = list(csv.reader(text.rstrip("\r\n").splitlines(keepends=True)))
    return {number: "" for number, record in enumerate(records, start=1) if not record}


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
    con: duckdb.DuckDBPyConnection, table: str, group: list[tuple[Path, dict[int, str]]]
) -> dict[str, int]:
    """Rows per file of `group`; row numbers rely on DuckDB storing rows in file order:
    each file's rows one run of rowids, the runs in the order of `group`."""
    order = {path.name: position for position, (path, _) in enumerate(group)}
    runs = con.execute(
        f"""
        select _file, min(rowid), max(rowid), count(*) from {table}
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
    con: duckdb.DuckDBPyConnection, kind: str, names: dict[str, str], files: dict[str, FileRead]
) -> None:
    """Keep the first of identical copies of a row within a file; count the others.

    NULLs compare equal here, a NULL key or value repeating like any other.
    """
    key = KEY_COLUMNS[kind]
    spec = ", ".join(f'r."{column}"' for column in SPEC_COLUMNS[kind])
    # Comparing whole rows is costly: only rows whose key repeats in their file can be
    # copies. Keys are grouped by a hash of (file, key), a tenth of the memory of grouping
    # 13M texts; a collision only adds candidates, compared in full after.
    con.execute(
        f"""
        create table {names['copies']} as
        with kept as not materialized (
            select r.rowid as id, r._file, {spec}, hash(r._file, r."{key}") as key_hash
            from {names['read']} r positional join {names['positions']} p
            where p._extract_date is not null
        ),
        repeated as (select key_hash from kept group by key_hash having count(*) > 1)
        select id, _file from kept
        where key_hash in (select key_hash from repeated)
        qualify row_number() over (partition by _file, {spec.replace('r."', '"')} order by id) > 1
        """
    )
    for file_name, count in con.execute(
        f"select _file, count(*) from {names['copies']} group by _file"
    ).fetchall():
        files[file_name].rows_duplicate = count
