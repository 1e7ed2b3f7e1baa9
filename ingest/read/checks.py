"""File checks before any row is read, in one streaming pass (an initial extract is ~2 GB):
sha256 of the bytes, gzip, encoding (UTF-8, no UTF-16), the header, blank lines."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import itertools
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cakupan.ingest.extracts import SPEC_COLUMNS
from cakupan.ingest.read.masking import mask_identifiers

_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BLANK_LINE = re.compile(r"\n\r?\n")
_CONTENT = re.compile(r"[^\r\n]")
_CHUNK_BYTES = 16 * 1024 * 1024


class FileRejected(ValueError):
    """A file-level problem: the whole file is rejected with this reason, identifier-like
    text in it masked (a header may name a column after a NIK)."""

    def __init__(self, reason: str):
        super().__init__(mask_identifiers(reason))


@dataclass(frozen=True)
class Inspection:
    """What the checks found: the sha256, the header or why the file is rejected, its line
    count, and whether blank lines sit between its rows."""

    sha256: str
    header: tuple[str, ...] | FileRejected
    lines: int
    has_blank_line: bool


def inspect(path: Path, kind: str) -> Inspection:
    """Problems rank as if the file were decoded whole: gzip, then encoding, then header."""
    with path.open("rb") as raw:
        hashing = _Hashing(raw)
        try:
            header, lines, has_blank_line = _scan(_chunks(hashing, path.name.endswith(".gz")), kind)
        except FileRejected as problem:
            header, lines, has_blank_line = problem, 0, False
        while hashing.read(_CHUNK_BYTES):  # the rest of the bytes, for the sha256
            pass
    return Inspection(hashing.sha256.hexdigest(), header, lines, has_blank_line)


def blank_lines(path: Path) -> dict[int, str]:
    """Blank lines between data rows: DuckDB skips them but counts them as lines.

    Rare, so the exact (quote-aware) numbering is only computed when `inspect` saw one;
    a blank line is a row of one field, quarantined as field_count. Trailing blank
    lines end the file and are no rows.
    """
    records = list(csv.reader(_text(path).rstrip("\r\n").splitlines(keepends=True)))
    return {number: "" for number, record in enumerate(records, start=1) if not record}


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
    """The whole decoded text of a file that passed `inspect`."""
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
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)  # linear: 100,000 columns happen
    if repeated:
        raise FileRejected(f"header: column(s) named twice: {', '.join(repeated)}")
    missing = [column for column in SPEC_COLUMNS[kind] if column not in header]
    if missing:
        raise FileRejected(f"header: required column(s) missing: {', '.join(missing)}")
    return header
