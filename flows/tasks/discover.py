"""Discovering landed extract files: name, kind, date, sha256, and what is due to load.

Nightly (`until`) picks files dated on or before `until` that are new or changed;
backfill (`start`, `end`) picks every file in the range, changed or not, except those
whose current bytes were loaded at or after `loaded_since` (resume). Names with an
impossible date, and `.csv` + `.csv.gz` of one kind and date (ambiguous), are recorded
as REJECTED in audit.extract_files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from cakupan.flows.tasks.load import LOADED, REJECTED, FileOutcome, record_outcomes
from cakupan.warehouse.connection import connect
from cakupan.flows.tasks.retries import RETRY_ON_IO

NAME_PATTERN = re.compile(r"^(employers|enrolments)_(\d{8})\.csv(\.gz)?$")
AMBIGUOUS = "ambiguous"
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    name: str
    kind: str
    extract_date: date | None  # None when the name holds an impossible date
    sha256: str
    size: int


@dataclass
class Discovery:
    """Files due to ingest (in date order), name-level rejections, and the rest."""

    selected: list[LandedFile] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # identical or already (re)loaded
    ignored: list[str] = field(default_factory=list)  # subfolders, names matching nothing


def parse_name(name: str) -> tuple[str, date | None] | None:
    """(kind, extract date) of a landing name; None if it matches no pattern; the date is
    None when impossible (employers_20250231.csv)."""
    matched = NAME_PATTERN.match(name)
    if not matched:
        return None
    try:
        return matched.group(1), datetime.strptime(matched.group(2), "%Y%m%d").date()
    except ValueError:
        return matched.group(1), None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def discover(
    landing: Path,
    con: duckdb.DuckDBPyConnection,
    *,
    until: date | None = None,
    start: date | None = None,
    end: date | None = None,
    loaded_since: datetime | None = None,
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
    if loaded_since is not None and loaded_since.tzinfo is not None:
        loaded_since = loaded_since.astimezone(timezone.utc).replace(tzinfo=None)

    def due(extract_date: date) -> bool:
        if backfill:
            return start <= extract_date <= end
        return until is None or extract_date <= until

    history = _history(con)
    found = Discovery()
    by_date: dict[tuple[str, date], list[LandedFile]] = {}
    impossible: list[LandedFile] = []
    for path in sorted(landing.iterdir()):
        parsed = parse_name(path.name) if path.is_file() else None
        if parsed is None:
            found.ignored.append(path.name)
            continue
        kind, extract_date = parsed
        if extract_date is not None and not due(extract_date):
            continue
        landed = LandedFile(path.name, kind, extract_date, file_sha256(path), path.stat().st_size)
        if extract_date is None:
            impossible.append(landed)
        else:
            by_date.setdefault((kind, extract_date), []).append(landed)

    for landed in impossible:
        if _already_rejected(history, landed):
            found.skipped.append(landed.name)
            continue
        found.rejected.append(
            _rejection(landed, f"name: impossible extract date in {landed.name}")
        )

    for (kind, extract_date), versions in sorted(by_date.items(), key=lambda item: item[0][1]):
        if len(versions) > 1:
            names = " and ".join(landed.name for landed in versions)
            for landed in versions:
                if not backfill and _already_rejected(history, landed):
                    found.skipped.append(landed.name)
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
        else:
            found.skipped.append(landed.name)
    return found


@task(name="discover-files", cache_policy=NO_CACHE, **RETRY_ON_IO)  # reads the landing: never cached
def discover_files(
    landing: str,
    warehouse: str,
    run_id: str,
    until: date | None = None,
    start: date | None = None,
    end: date | None = None,
    loaded_since: datetime | None = None,
) -> Discovery:
    """Discover, and record name-level rejections (superseding loaded versions)."""
    with connect(warehouse) as con:
        found = discover(
            Path(landing), con, until=until, start=start, end=end, loaded_since=loaded_since
        )
        con.begin()
        try:
            record_outcomes(con, found.rejected, run_id)
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return found


def _history(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str | None, datetime]]]:
    """(name, sha256) -> [(status, reason, processed_at)] of every recorded version."""
    history: dict[tuple[str, str], list[tuple[str, str | None, datetime]]] = {}
    for name, sha, status, reason, processed_at in con.execute(
        "select file_name, sha256, status, reason, processed_at from audit.extract_files"
    ).fetchall():
        history.setdefault((name, sha), []).append((status, reason, processed_at))
    return history


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
