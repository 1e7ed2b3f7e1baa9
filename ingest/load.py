"""The single writer: decide each file of a chunk from its slices' results, then write the
audit rows, the quarantine and raw.* in one transaction, reading the workers' Parquet.

A process killed mid-way leaves no partial file, and a re-delivery's old rows stop
counting in the same commit that records the new version. Only this stage opens the
warehouse for writing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb

from cakupan.ingest.audit import LOADED, REJECTED, UNSETTLED, FileOutcome, insert_quarantine, record_outcomes
from cakupan.ingest.extracts import KINDS, breaker_reason, breaker_trips
from cakupan.ingest.pseudonymise import SliceResult
from cakupan.ingest.read.masking import escaped
from cakupan.warehouse.connection import in_any_order
from cakupan.warehouse.transaction import transaction
from cakupan.warehouse.pii import KEY_VARIABLE, PiiKeyMismatch, check_key

@dataclass
class _FileTotals:
    name: str
    kind: str
    extract_date: date
    sha256: str
    rows_read: int = 0
    rows_passing: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rules: Counter = field(default_factory=Counter)
    schema_drift: tuple[str, ...] = ()
    rejected_reason: str | None = None
    changed: bool = False


def load_chunk(con: duckdb.DuckDBPyConnection, results: Sequence[SliceResult], run_id: str) -> list[FileOutcome]:
    """Decide and write every file of `results` (all slices of a chunk) in one commit."""
    _check_complete(results)
    totals = _totals(results)
    outcomes = [_outcome(file) for file in totals.values()]
    loading = [o.name for o in outcomes if o.status == LOADED]
    fingerprints = {
        r.key_fingerprint for r in results
        if r.key_fingerprint and any(f.name in loading for f in r.files)
    }
    if len(fingerprints) > 1:
        raise PiiKeyMismatch(
            f"workers hashed with different keys (different {KEY_VARIABLE}): give every "
            "worker the same key"
        )
    with transaction(con):
        for fingerprint in fingerprints:
            check_key(con, fingerprint)
        record_outcomes(con, outcomes, run_id)
        insert_quarantine(con, [r.quarantine for r in results], loading)
        _insert_raw(con, results, loading)
    return outcomes


def _insert_raw(con: duckdb.DuckDBPyConnection, results: Sequence[SliceResult], loading: list[str]) -> None:
    """raw.* rows of the loading files, straight from the workers' Parquet."""
    for kind in KINDS:
        paths = [r.rows for r in results if r.work.kind == kind]
        if paths and loading:
            with in_any_order(con):
                con.execute(
                    f"""
                    insert into raw.{kind} by name
                    select * from read_parquet($paths) where list_contains($loading, file_name)
                    """,
                    {"paths": paths, "loading": loading},
                )


def _check_complete(results: Sequence[SliceResult]) -> None:
    """Every part of every cut slice is here: a missing one would load a file half."""
    parts: dict[tuple[str, tuple[str, ...]], set[int]] = {}
    for result in results:
        parts.setdefault((result.work.kind, result.work.files), set()).add(result.work.part)
    for result in results:
        if parts[(result.work.kind, result.work.files)] != set(range(result.work.parts)):
            raise RuntimeError(f"{', '.join(result.work.files)}: not every part of the slice was prepared")


def _totals(results: Sequence[SliceResult]) -> dict[str, _FileTotals]:
    totals: dict[str, _FileTotals] = {}
    for result in results:
        for part in result.files:
            total = totals.setdefault(
                part.name,
                _FileTotals(part.name, part.kind, part.extract_date, part.sha256,
                            schema_drift=part.schema_drift),
            )
            total.rows_read = max(total.rows_read, part.rows_read)  # each part counts them all
            total.rows_passing += part.rows_passing
            total.rows_quarantined += part.rows_quarantined
            total.rows_duplicate += part.rows_duplicate
            total.rules.update(part.rule_counts)
            total.rejected_reason = total.rejected_reason or part.rejected_reason
            total.changed = total.changed or part.changed
    return totals


def _outcome(file: _FileTotals) -> FileOutcome:
    identity = dict(
        name=file.name, kind=file.kind, extract_date=file.extract_date, sha256=file.sha256,
        schema_drift=file.schema_drift,
    )
    if file.changed:
        return FileOutcome(status=UNSETTLED, reason="not settled yet: it changed while it was read", **identity)
    if file.rejected_reason:
        # a reason may quote the file's header or a line: one printable line in audit and logs
        return FileOutcome(status=REJECTED, reason=escaped(file.rejected_reason), **identity)
    counts = dict(
        rows_read=file.rows_read, rows_loaded=file.rows_passing,
        rows_quarantined=file.rows_quarantined, rows_duplicate=file.rows_duplicate,
    )
    if breaker_trips(file.rows_quarantined, file.rows_read):
        return FileOutcome(
            status=REJECTED, reason=_breaker_reason(file), **identity, **(counts | {"rows_loaded": 0})
        )
    if file.rows_read != file.rows_passing + file.rows_quarantined + file.rows_duplicate:
        raise RuntimeError(f"{file.name}: row counts do not reconcile {counts}")
    return FileOutcome(status=LOADED, **identity, **counts)


def _breaker_reason(file: _FileTotals) -> str:
    listed = ", ".join(f"{rule} ({count})" for rule, count in file.rules.most_common(5))
    return f"{breaker_reason(file.rows_quarantined, file.rows_read, 'quarantined')}; rules: {listed}"
