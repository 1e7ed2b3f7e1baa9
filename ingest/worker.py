"""A worker's whole job on one slice: read, validate, pseudonymise (the stages before the
single writer's load), in a scratch database of its own that is gone when it returns."""

from __future__ import annotations

from pathlib import Path

from cakupan.config import WorkerLimits
from cakupan.ingest.discover import Slice, unchanged_since_discovery
from cakupan.ingest.pseudonymise import SliceResult, pseudonymise
from cakupan.ingest.read import read_slice, scratch_database
from cakupan.ingest.validate import validate_slice
from cakupan.warehouse.pii import PiiKey


class KeyNeeded(ValueError):
    """An enrolments slice was given no pseudonymisation key."""


def prepare_slice(
    landing: Path, work: Slice, out_dir: Path, key: PiiKey | None, pages: Path | None = None,
    limits: WorkerLimits = WorkerLimits(),
) -> SliceResult:
    """Read, validate and pseudonymise one slice; its Parquet goes into `out_dir`, its Data
    Docs pages (if `pages`) into that folder."""
    if work.kind == "enrolments" and key is None:
        raise KeyNeeded(f"{work.name}: enrolments need the pseudonymisation key")
    with scratch_database(out_dir, limits) as con:
        staged = read_slice(con, landing, work, shared=out_dir / "staging", limits=limits)
        # after every byte was read: a file that changed since discovery is not settled
        changed = frozenset(
            seen.name for seen in work.seen
            if not unchanged_since_discovery(landing / seen.name, seen, staged.files[seen.name].sha256)
        )
        failures = validate_slice(con, staged, pages, work.name)
        return pseudonymise(con, staged, failures, key, work, out_dir, changed)
