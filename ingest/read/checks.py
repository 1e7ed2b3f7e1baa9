"""File checks before any row is read, in one streaming pass (an initial extract is ~2 GB):
sha256 of the bytes, gzip, size, encoding (UTF-8, no UTF-16), the header, and the data rows
counted independently of the CSV reader (quote-aware), blank ones located.

The pass holds one chunk at a time: a file of blank lines costs a count, not a list, and
its reading stops as soon as the circuit breaker is certain to reject it."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import itertools
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cakupan.ingest.extracts import SPEC_COLUMNS, breaker_reason, breaker_trips
from cakupan.ingest.read.masking import mask_identifiers

_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CHUNK_BYTES = 16 * 1024 * 1024
_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")


class FileRejected(ValueError):
    """A file-level problem: the whole file is rejected with this reason, identifier-like
    text in it masked (a header may name a column after a NIK)."""

    def __init__(self, reason: str):
        super().__init__(mask_identifiers(reason))


class _Certain(FileRejected):
    """Rejected by the circuit breaker before the end of the file."""


@dataclass(frozen=True)
class Inspection:
    """What the checks found: the sha256, the header or why the file is rejected, its data
    rows (after the header; blank lines between rows included, trailing ones not) and the
    blank ones as runs (first data row, count): never one entry per line."""

    sha256: str
    header: tuple[str, ...] | FileRejected
    data_rows: int
    blank_runs: tuple[tuple[int, int], ...]

    def blank_rows(self) -> list[int]:
        """The data row numbers of the blank lines: a few (more would have tripped the
        circuit breaker in `inspect`)."""
        return [first + n for first, count in self.blank_runs for n in range(count)]


def inspect(path: Path, kind: str, limit: int) -> Inspection:
    """Problems rank as if the file were decoded whole: gzip, then size (more than `limit`
    bytes, decompressed), then encoding, then header, then blank lines (the circuit breaker)."""
    gzipped = path.name.endswith(".gz")
    with path.open("rb") as raw:
        hashing = _Hashing(raw)
        rows = _Rows(limit if gzipped else min(limit, path.stat().st_size))
        try:
            header = _scan(_chunks(hashing, gzipped, limit), kind, rows)
        except FileRejected as problem:
            header = problem
        while hashing.read(_CHUNK_BYTES):  # the rest of the bytes, for the sha256
            pass
    if isinstance(header, FileRejected):
        return Inspection(hashing.sha256.hexdigest(), header, 0, ())
    return Inspection(hashing.sha256.hexdigest(), header, rows.data_rows, rows.runs())


class _Rows:
    """Counts CSV records in a byte stream, a chunk at a time, as the spec defines them:
    `"` quoting (a line break inside quotes is data), LF or CRLF ends, a blank line between
    rows is a data row, trailing blank lines are none. Independent of DuckDB's reader, so a
    row that reader drops shows as a difference of counts. Records are numbered from the
    header (0), so a data row's number is its record's."""

    def __init__(self, most_bytes: int):
        self.most_bytes = most_bytes  # the stream is no longer: bounds the rows still to come
        self.seen = 0  # bytes so far
        self.quoted = False  # inside quotes at the end of what was seen
        self.records = 0  # records ended by a line break so far
        self.last_end = -1  # position of the last record-ending line break
        self.last_byte = 0
        self.data_rows = 0  # the number of the last record with content
        self.tail = b""  # up to two bytes after the last line break: is the last record blank
        self.starts: list[np.ndarray] = []  # runs of blank records: first record and count
        self.counts: list[np.ndarray] = []
        self.blank = 0
        self.trailing_blank = 0  # blank records after the last with content (no rows, yet)

    def feed(self, chunk: bytes) -> None:
        data = np.frombuffer(chunk, np.uint8)
        line_breaks = data == _LF
        if self.quoted or chunk.find(b'"') >= 0:
            # A line break ends a record where the quotes before it are even in number.
            odd = np.bitwise_and(np.cumsum(data == _QUOTE, dtype=np.uint8), 1).astype(bool)
            line_breaks &= odd if self.quoted else ~odd
            self.quoted ^= bool(odd[-1])
        ends = np.flatnonzero(line_breaks)
        if len(ends):
            lengths = np.diff(ends + self.seen, prepend=self.last_end) - 1
            before = data[np.maximum(ends - 1, 0)].copy()
            before[ends == 0] = self.last_byte
            blank = (lengths == 0) | ((lengths == 1) & (before == _CR))
            numbers = self.records + np.arange(len(ends))
            with_content = numbers[~blank]
            blank_numbers = numbers[blank & (numbers > 0)]
            if len(with_content):
                self.data_rows = int(with_content[-1])
                self.trailing_blank = int(np.count_nonzero(blank_numbers > self.data_rows))
            else:
                self.trailing_blank += len(blank_numbers)
            self._add_blank_runs(blank_numbers)
            self.records += len(ends)
            self.last_end = int(ends[-1]) + self.seen
            self.tail = chunk[ends[-1] + 1:][:2]
        else:
            self.tail = (self.tail + chunk[:2])[:2]
        self.seen += len(chunk)
        self.last_byte = chunk[-1]

    def finish(self) -> None:
        if self.tail not in (b"", b"\r"):  # a last record without a line break
            self.data_rows = self.records

    def _add_blank_runs(self, numbers: np.ndarray) -> None:
        if not len(numbers):
            return
        cuts = np.flatnonzero(np.diff(numbers) != 1) + 1
        starts = numbers[np.r_[0, cuts]]
        counts = np.diff(np.r_[0, cuts, len(numbers)])
        if self.starts and self.starts[-1][-1] + self.counts[-1][-1] == starts[0]:
            self.counts[-1][-1] += counts[0]  # a run across chunks
            starts, counts = starts[1:], counts[1:]
        if len(starts):
            self.starts.append(starts)
            self.counts.append(counts)
        self.blank += len(numbers)

    def runs(self) -> tuple[tuple[int, int], ...]:
        """Blank runs before the last row with content (trailing ones are no rows)."""
        if not self.starts:
            return ()
        starts, counts = np.concatenate(self.starts), np.concatenate(self.counts)
        kept = starts < self.data_rows
        return tuple(zip(starts[kept].tolist(), counts[kept].tolist()))

    def check_breaker(self, final: bool) -> None:
        """Reject once the blank lines alone make the circuit breaker certain to trip: at
        the end, or before against the most data rows the rest of the stream can hold."""
        blank = self.blank - self.trailing_blank
        if not blank:
            return
        most_rows = self.data_rows if final else self.records + max(0, self.most_bytes - self.seen)
        if breaker_trips(blank, most_rows):
            total = f"{most_rows}" if final else f"at most {most_rows}"
            raise FileRejected(breaker_reason(blank, total, "are blank lines"))


class _Hashing:
    """A binary file whose bytes read so far are hashed."""

    def __init__(self, file):
        self.file = file
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha256.update(data)
        return data


def _chunks(file: _Hashing, gzipped: bool, limit: int) -> Iterator[bytes]:
    """The file's (decompressed) bytes; past `limit` of them the file is rejected."""
    if not gzipped:
        yield from _bounded(iter(lambda: file.read(_CHUNK_BYTES), b""), limit, "")
        return
    try:
        with gzip.GzipFile(fileobj=file, mode="rb") as stream:
            yield from _bounded(iter(lambda: stream.read(_CHUNK_BYTES), b""), limit, "decompressed ")
    except (gzip.BadGzipFile, EOFError, zlib.error) as problem:
        raise FileRejected(f"gzip: cannot decompress ({problem})") from None


def _bounded(chunks: Iterator[bytes], limit: int, what: str) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise FileRejected(f"size: more than {limit:,} bytes {what}(CAKUPAN_MAX_FILE_BYTES, the limit per file)")
        yield chunk


def _scan(chunks: Iterator[bytes], kind: str, rows: _Rows) -> tuple[str, ...]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    problem: FileRejected | None = None
    fed = newlines = 0  # bytes given to the decoder, and their line breaks
    head = ""  # the text up to the first line break
    started = False
    for chunk in itertools.chain(chunks, [None]):  # None: the end, where the decoder flushes
        if isinstance(problem, _Certain):
            break  # the breaker trips whatever follows: no need to read on
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
        if not started and text:
            text, started = text.removeprefix(_BOM), True
        if "\n" not in head:
            head += text
        if chunk:
            fed += len(chunk)
            newlines += chunk.count(b"\n")
            rows.feed(chunk)
            try:
                rows.check_breaker(final=False)
            except FileRejected as certain:
                problem = _Certain(str(certain))
    if problem:
        raise problem
    header = _header(head, kind)
    rows.finish()
    rows.check_breaker(final=True)
    return header


def _header(text: str, kind: str) -> tuple[str, ...]:
    first_line = text.split("\n", 1)[0].removesuffix("\r")
    if not first_line.strip():
        raise FileRejected("header: missing (the file has no header row)")
    try:
        header = tuple(next(csv.reader([first_line], strict=True)))
    except csv.Error as problem:
        raise FileRejected(f"header: not parseable as CSV ({problem})") from None
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)  # linear: 100,000 columns happen
    if repeated:
        raise FileRejected(f"header: column(s) named twice: {', '.join(repeated)}")
    missing = [column for column in SPEC_COLUMNS[kind] if column not in header]
    if missing:
        raise FileRejected(f"header: required column(s) missing: {', '.join(missing)}")
    return header
