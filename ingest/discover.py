"""Discovering landed extract files: name, kind, date, sha256, what is due to load, and
the plan of work: chunks of files (one writer transaction each) cut into slices (one
worker's unit: a slice holds every row of its keys).

A file is due only once it is settled: its size and modification time unchanged for
`settle_seconds` (BPJS may still be copying it), and unchanged while its bytes are hashed; a
worker checks again after reading it (`unchanged_since_discovery`). A file still changing is
listed as not settled and left for the next run.

Nightly (`until`) picks files dated on or before `until` that are new or changed;
backfill (`start`, `end`) picks every file in the range, changed or not, except those
whose current bytes were loaded at or after `loaded_since` (resume). Names with an
impossible date, and `.csv` + `.csv.gz` of one kind and date (ambiguous), are recorded
as REJECTED in audit.extract_files.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from cakupan.ingest.audit import LOADED, REJECTED, FileOutcome
from cakupan.ingest.extracts import KINDS, parse_name

AMBIGUOUS = "ambiguous"
_HASH_BLOCK = 1 << 20

# A chunk is one writer transaction. It pays a fixed cost per slice (a GX validation,
# ~0.5 s), so small daily files go in few chunks: the city's six years (4,384 files) in 2
# chunks and 7 slices, against 5 and 11 at 1,000 files, ingested 1.5-2.5 s sooner (P1). The
# byte bound keeps a chunk's Parquet and its transaction modest.
CHUNK_MAX_FILES = 2500
CHUNK_MAX_BYTES = 64 * 1024 * 1024  # uncompressed estimate
# A slice is one worker's unit: files of one kind up to this many bytes (~150k rows),
# enough slices for the workers to share a chunk.
SLICE_MAX_BYTES = 24 * 1024 * 1024
GZIP_RATIO = 5  # a .csv.gz of these extracts holds about five times its size


@dataclass(frozen=True)
class LandedFile:
    name: str
    kind: str
    extract_date: date | None  # None when the name holds an impossible date
    sha256: str
    size: int
    mtime_ns: int = 0  # as discovery saw it; a worker reads the file only if it is still so


@dataclass
class Discovery:
    """Files due to ingest (in date order), name-level rejections, and the rest."""

    selected: list[LandedFile] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # identical or already (re)loaded
    skipped_rejected: list[str] = field(default_factory=list)  # identical to a rejected version
    ignored: list[str] = field(default_factory=list)  # subfolders, names matching nothing
    unsettled: list[str] = field(default_factory=list)  # still changing: left for the next run


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def look(path: Path, kind: str, extract_date: date | None) -> LandedFile | None:
    """The file as it is now (size, mtime, sha256), or None when it changed while hashed."""
    before = path.stat()
    sha256 = file_sha256(path)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return None
    return LandedFile(path.name, kind, extract_date, sha256, after.st_size, after.st_mtime_ns)


def unchanged_since_discovery(path: Path, landed: LandedFile, sha256_read: str) -> bool:
    """Still the bytes discovery saw: same sha256 as read, same size and mtime after reading."""
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_size, now.st_mtime_ns, sha256_read) == (landed.size, landed.mtime_ns, landed.sha256)


def _settled(path: Path, settle_seconds: float, now: float) -> bool:
    """Unchanged for `settle_seconds` by its modification time (one in the future is not)."""
    return settle_seconds <= 0 or now - path.stat().st_mtime >= settle_seconds


def discover(
    landing: Path,
    con: duckdb.DuckDBPyConnection,
    *,
    until: date | None = None,
    start: date | None = None,
    end: date | None = None,
    loaded_since: datetime | None = None,
    settle_seconds: float = 0,
) -> Discovery:
    """What the landing holds against audit.extract_files; reads, never writes."""
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist or is not a folder")
    backfill = start is not None or end is not None
    if backfill and (start is None or end is None or until is not None):
        raise ValueError("give either until (nightly) or both start and end (backfill)")
    if backfill and start > end:
        raise ValueError(f"start {start} is after end {end}")
    if loaded_since is not None and not backfill:
        raise ValueError("loaded_since (resume) applies to a backfill only")
    if loaded_since is not None and loaded_since.tzinfo is None:
        raise ValueError("loaded_since must be a UTC instant (timezone-aware), as audit.extract_files keeps them")

    def due(extract_date: date) -> bool:
        if backfill:
            return start <= extract_date <= end
        return until is None or extract_date <= until

    history = _history(con)
    found = Discovery()
    by_date: dict[tuple[str, date], list[LandedFile]] = {}
    impossible: list[LandedFile] = []
    inside = Path(os.path.realpath(landing))
    now = time.time()
    for path in sorted(landing.iterdir()):
        parsed = parse_name(path.name)
        if parsed is None or not (path.is_symlink() or path.is_file()):
            found.ignored.append(path.name)
            continue
        kind, extract_date = parsed
        if extract_date is not None and not due(extract_date):
            continue
        if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(inside):  # realpath: loops too
            # never opened: the link's own text identifies this version
            link = LandedFile(path.name, kind, extract_date, _text_sha256(os.readlink(path)), 0)
            if _already_rejected(history, link):
                found.skipped_rejected.append(link.name)
            else:
                found.rejected.append(_rejection(link, "link: points outside the landing folder"))
            continue
        if not path.is_file():
            found.ignored.append(path.name)
            continue
        landed = look(path, kind, extract_date) if _settled(path, settle_seconds, now) else None
        if landed is None:
            found.unsettled.append(path.name)
            continue
        if extract_date is None:
            impossible.append(landed)
        else:
            by_date.setdefault((kind, extract_date), []).append(landed)

    for landed in impossible:
        if _already_rejected(history, landed):
            found.skipped_rejected.append(landed.name)
            continue
        found.rejected.append(
            _rejection(landed, f"name: impossible extract date in {landed.name}")
        )

    for (kind, extract_date), versions in sorted(by_date.items(), key=lambda item: item[0][1]):
        if len(versions) > 1:
            names = " and ".join(landed.name for landed in versions)
            for landed in versions:
                if not backfill and _already_rejected(history, landed):
                    found.skipped_rejected.append(landed.name)
                else:
                    found.rejected.append(
                        _rejection(
                            landed,
                            f"{AMBIGUOUS}: {names} both exist for {kind} {extract_date}",
                        )
                    )
            continue
        (landed,) = versions
        if _needs_load(history, landed, backfill, loaded_since):
            found.selected.append(landed)
        elif _already_loaded(history, landed) or backfill:
            found.skipped.append(landed.name)
        else:
            found.skipped_rejected.append(landed.name)
    return found


def _text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _history(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str | None, datetime]]]:
    """(name, sha256) -> [(status, reason, processed_at)] of every recorded version."""
    history: dict[tuple[str, str], list[tuple[str, str | None, datetime]]] = {}
    for name, sha, status, reason, processed_at in con.execute(
        "select file_name, sha256, status, reason, processed_at from audit.extract_files"
    ).fetchall():
        history.setdefault((name, sha), []).append((status, reason, processed_at))
    return history


def _already_loaded(history: dict, landed: LandedFile) -> bool:
    return any(status == LOADED for status, _, _ in history.get((landed.name, landed.sha256), []))


def _already_rejected(history: dict, landed: LandedFile) -> bool:
    return any(status == REJECTED for status, _, _ in history.get((landed.name, landed.sha256), []))


def _needs_load(
    history: dict, landed: LandedFile, backfill: bool, loaded_since: datetime | None
) -> bool:
    versions = history.get((landed.name, landed.sha256), [])
    if backfill:
        return loaded_since is None or not any(
            status == LOADED and processed_at >= loaded_since
            for status, _, processed_at in versions
        )
    # An identical re-delivery is skipped, except after an ambiguity that is now gone.
    return not any(
        status == LOADED or (status == REJECTED and not (reason or "").startswith(AMBIGUOUS))
        for status, reason, _ in versions
    )


def _rejection(landed: LandedFile, reason: str) -> FileOutcome:
    return FileOutcome(
        name=landed.name, kind=landed.kind, extract_date=landed.extract_date,
        sha256=landed.sha256, status=REJECTED, reason=reason,
    )


@dataclass(frozen=True)
class Slice:
    """One worker's unit: the rows of `files` (one kind) whose hash of (file, key) falls in
    `part` of `parts`. Every row of a key of a file is in one slice, whatever its size: a
    40-row daily delta is one part of one, a 13M-row initial extract is cut in parts."""

    kind: str
    files: tuple[str, ...]
    part: int = 0
    parts: int = 1
    # the files as discovery saw them: the worker loads one only if it is still so
    seen: tuple[LandedFile, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        """First and last file, and the part when cut (names its Data Docs page)."""
        first, last = (file.split(".")[0] for file in (self.files[0], self.files[-1]))
        name = f"{first}-to-{last}"
        return name if self.parts == 1 else f"{name}-part-{self.part + 1}-of-{self.parts}"


@dataclass(frozen=True)
class Chunk:
    """Files loaded in one writer transaction, and the slices their rows are cut in."""

    files: tuple[LandedFile, ...]
    slices: tuple[Slice, ...]


def plan(
    files: Sequence[LandedFile],
    parts_per_file: int = 1,
    chunk_bytes: int = CHUNK_MAX_BYTES,
    chunk_files: int = CHUNK_MAX_FILES,
    slice_bytes: int = SLICE_MAX_BYTES,
) -> list[Chunk]:
    """Chunks of `files` in order, bounded by estimated bytes and count; in each, files of
    one kind grouped into slices of up to `slice_bytes`. A file larger than that is a
    slice of its own, cut into up to `parts_per_file` parts (one per worker: each part
    reads the whole file but keeps only its keys)."""
    chunks: list[Chunk] = []
    for chunk_files_ in _bounded(files, chunk_bytes, chunk_files):
        slices: list[Slice] = []
        for kind in KINDS:
            for group in _bounded([f for f in chunk_files_ if f.kind == kind], slice_bytes, chunk_files):
                names = tuple(landed.name for landed in group)
                size = sum(map(_estimated_bytes, group))
                parts = max(1, min(parts_per_file, -(-size // slice_bytes)))
                slices.extend(Slice(kind, names, part, parts, tuple(group)) for part in range(parts))
        chunks.append(Chunk(tuple(chunk_files_), tuple(slices)))
    return chunks


def _estimated_bytes(landed: LandedFile) -> int:
    return landed.size * (GZIP_RATIO if landed.name.endswith(".gz") else 1)


def _bounded(files: Sequence[LandedFile], max_bytes: int, max_files: int) -> list[list[LandedFile]]:
    """`files` in order, cut where the next file would pass either bound."""
    groups: list[list[LandedFile]] = []
    current: list[LandedFile] = []
    current_bytes = 0
    for landed in files:
        size = _estimated_bytes(landed)
        if current and (current_bytes + size > max_bytes or len(current) >= max_files):
            groups.append(current)
            current, current_bytes = [], 0
        current.append(landed)
        current_bytes += size
    if current:
        groups.append(current)
    return groups
