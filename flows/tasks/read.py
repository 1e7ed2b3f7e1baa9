"""Reading a batch of extract files of one kind with DuckDB's CSV reader.

Every column is read as text (no type sniffing: npp, kpj and kbli keep their leading
zeros). Cheap per-file checks come first (gzip, UTF-8, header); files that pass are read
with one `read_csv` per distinct header. Rows with the wrong number of fields come back
as bad rows (rule `field_count`); other parse errors reject the file.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

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
    """Rows of one kind: `frame` holds the spec columns as text plus _file, _row and
    _extract_date (text, YYYY-MM-DD), index 0..n-1, identical duplicates collapsed."""

    kind: str
    frame: pd.DataFrame
    files: dict[str, FileRead]
    bad_rows: list[BadRow] = field(default_factory=list)


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
    for path in paths:
        content = path.read_bytes()
        read = FileRead(path.name, kind, extract_dates[path.name], hashlib.sha256(content).hexdigest())
        files[path.name] = read
        try:
            text = _decoded(path, content)
            header = _header(text, kind)
        except FileRejected as problem:
            read.rejected_reason = str(problem)
            continue
        read.schema_drift = tuple(column for column in header if column not in SPEC_COLUMNS[kind])
        by_header.setdefault(header, []).append((path, _blank_lines(text)))

    frames: list[pd.DataFrame] = []
    bad_rows: list[BadRow] = []
    for header, group in by_header.items():
        frame, group_bad = _read_group(con, kind, header, group, files)
        frames.append(frame)
        bad_rows.extend(group_bad)

    columns = [*SPEC_COLUMNS[kind], *META_COLUMNS]
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({column: pd.Series(dtype="str") for column in columns})
    )
    frame = frame[~frame["_file"].isin([f.name for f in files.values() if f.rejected_reason])]
    frame = _collapse_identical(frame, kind, files)
    frame["_extract_date"] = frame["_file"].map(
        {name: read.extract_date.isoformat() for name, read in files.items()}
    ).astype("str")
    return Batch(kind, frame[columns].reset_index(drop=True), files, bad_rows)


def _decoded(path: Path, content: bytes) -> str:
    if path.name.endswith(".gz"):
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error) as problem:
            raise FileRejected(f"gzip: cannot decompress ({problem})") from None
    if content.startswith(_UTF16_BOMS):
        raise FileRejected("encoding: UTF-16 (a spreadsheet's \"Unicode text\"), not UTF-8")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as problem:
        line = content[: problem.start].count(b"\n") + 1
        raise FileRejected(
            f"encoding: not valid UTF-8 (byte {problem.start}, line {line})"
        ) from None
    return text.removeprefix(_BOM)


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
) -> tuple[pd.DataFrame, list[BadRow]]:
    """One read_csv over files sharing a header; rows come back in file order."""
    spec = SPEC_COLUMNS[kind]
    # A quoted empty field ("") is NULL too: the spec knows no empty text.
    selected = ", ".join(f'nullif("{column}", \'\') as "{column}"' for column in spec)
    frame = con.sql(
        f"""
        select {selected}, parse_filename(_cakupan_source_file) as _file
        from read_csv(
            $paths, header = true, auto_detect = false, columns = $columns,
            delim = ',', quote = '"', escape = '"',
            -- named apart from any column an extract may carry (e.g. "filename")
            filename = '_cakupan_source_file', store_rejects = true,
            rejects_table = 'csv_rejects', rejects_scan = 'csv_rejects_scan'
        )
        """,
        params={
            "paths": [str(path) for path, _ in group],
            "columns": {column: "varchar" for column in header},
        },
    ).to_arrow_table().to_pandas()
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
    row_numbers: list[np.ndarray] = []
    good_counts = frame.groupby("_file", sort=False).size()
    for path, blank_lines in group:
        read = files[path.name]
        good = int(good_counts.get(path.name, 0))
        if read.rejected_reason:
            row_numbers.append(np.arange(1, good + 1))  # rows dropped with the file
            continue
        lines = bad_lines[path.name] | blank_lines
        read.rows_read = good + len(lines)
        # DuckDB numbers records from the header (line 1): data row = line - 1.
        slots = np.ones(read.rows_read, dtype=bool)
        slots[[line - 2 for line in lines]] = False
        row_numbers.append(np.flatnonzero(slots) + 1)
        bad_rows.extend(
            BadRow(path.name, line - 1, [FIELD_COUNT_RULE], _field_count_record(header, csv_line))
            for line, csv_line in sorted(lines.items())
        )
    _check_file_order(frame, group)
    frame["_row"] = np.concatenate(row_numbers) if row_numbers else np.empty(0, dtype=np.int64)
    return frame, bad_rows


def _blank_lines(text: str) -> dict[int, str]:
    """Blank lines between data rows: DuckDB skips them but counts them as lines.

    Rare, so the exact (quote-aware) numbering is only computed when one is present;
    a blank line is a row of one field, quarantined as field_count. Trailing blank
    lines end the file and are no rows.
    """
    if not _BLANK_LINE.search(text.rstrip("\r\n")):
        return {}
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


def _check_file_order(frame: pd.DataFrame, group: list[tuple[Path, dict[int, str]]]) -> None:
    """Row numbers rely on DuckDB returning rows in file order (insertion order)."""
    order = {path.name: position for position, (path, _) in enumerate(group)}
    positions = frame["_file"].map(order).to_numpy()
    if len(positions) and (np.diff(positions) < 0).any():
        raise RuntimeError("DuckDB returned CSV rows out of file order: row numbers unknown")


def _collapse_identical(frame: pd.DataFrame, kind: str, files: dict[str, FileRead]) -> pd.DataFrame:
    """Keep the first of identical copies of a row within a file; count the others."""
    # Comparing whole rows is costly: only rows whose key repeats in their file can be copies.
    candidates = frame.loc[frame.duplicated(subset=["_file", KEY_COLUMNS[kind]], keep=False)]
    is_copy = candidates.duplicated(subset=["_file", *SPEC_COLUMNS[kind]], keep="first")
    copies = candidates.loc[is_copy]
    for file_name, count in copies["_file"].value_counts().items():
        files[file_name].rows_duplicate = int(count)
    return frame.drop(index=copies.index)
