"""One chunk of discovered files: read -> validate -> load, in one warehouse transaction.

The Prefect task takes only paths, dates and names: connections, frames and the secret
key stay inside it (the key is read from the environment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger

from cakupan.flows.tasks.discover import LandedFile, parse_name
from cakupan.flows.tasks.load import LOADED, REJECTED, FileOutcome, load_batches
from cakupan.flows.tasks.read import SPEC_COLUMNS, batch_slice, read_batch, release
from cakupan.config import data_docs_dir
from cakupan.flows.tasks.data_docs import refresh_index, write_validation_page
from cakupan.flows.tasks.validate import RowValidation, validate_rows_with_results
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import PiiKey, key_from_env
from cakupan.flows.tasks.retries import RETRY_ON_IO

Validator = Callable[[str, pd.DataFrame], RowValidation]

# Each chunk pays a fixed cost (two GX validations, ~1.3 s measured), so ~4,300 small daily
# files go in ~5 chunks; the byte bound keeps a chunk near 400k rows (~1 GB of memory), and
# a province-scale initial extract stays alone in its chunk.
CHUNK_MAX_FILES = 1000
CHUNK_MAX_BYTES = 64 * 1024 * 1024  # uncompressed estimate
GZIP_RATIO = 5  # a .csv.gz of these extracts holds about five times its size


@dataclass
class ChunkResult:
    outcomes: list[FileOutcome] = field(default_factory=list)
    # (page name, GX results) per validated batch, for Data Docs; row indices only, no values
    validations: list[tuple[str, object]] = field(default_factory=list, repr=False)

    @property
    def loaded(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == LOADED]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == REJECTED]


def plan_chunks(
    files: Sequence[LandedFile],
    max_bytes: int = CHUNK_MAX_BYTES,
    max_files: int = CHUNK_MAX_FILES,
) -> list[list[str]]:
    """Split files, in order, into chunks bounded by estimated bytes and count."""
    chunks: list[list[str]] = []
    current: list[str] = []
    current_bytes = 0
    for landed in files:
        size = landed.size * (GZIP_RATIO if landed.name.endswith(".gz") else 1)
        if current and (current_bytes + size > max_bytes or len(current) >= max_files):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(landed.name)
        current_bytes += size
    if current:
        chunks.append(current)
    return chunks


def ingest(
    landing: Path,
    con: duckdb.DuckDBPyConnection,
    files: list[str],
    run_id: str,
    key: PiiKey | None,
    validate: Validator = validate_rows_with_results,
) -> ChunkResult:
    """Read, validate and load the named files; a rejected file leaves the others loading."""
    by_kind: dict[str, list[Path]] = {kind: [] for kind in SPEC_COLUMNS}
    extract_dates = {}
    for name in files:
        parsed = parse_name(name)
        if parsed is None or parsed[1] is None:
            raise ValueError(f"{name}: not a loadable extract name (discovery rejects it)")
        kind, extract_dates[name] = parsed
        by_kind[kind].append(landing / name)

    validated, validations = [], []
    try:
        for kind, paths in by_kind.items():
            if not paths:
                continue
            batch = read_batch(con, kind, paths, extract_dates)
            failures: dict[int, list[str]] = {}
            validated.append((batch, failures))
            page = f"{paths[0].name.split('.')[0]}-to-{paths[-1].name.split('.')[0]}"
            if batch.frame is None:
                # A large batch is validated slice by slice (each slice holds all rows of
                # its keys, so conflicting_duplicate sees every copy), one page per slice.
                for number in range(batch.slices):
                    frame = batch_slice(con, batch, number)
                    if len(frame):
                        validation = validate(kind, frame)
                        failures.update(validation.failures)
                        validations.append((f"{page}-part-{number + 1}", validation.results))
            elif len(batch.frame):
                validation = validate(kind, batch.frame.drop(columns="_row"))
                failures.update(validation.failures)
                validations.append((page, validation.results))
        return ChunkResult(load_batches(con, validated, run_id, key), validations)
    finally:
        for batch, _ in validated:
            if batch.table:
                release(con, batch)


@task(name="ingest-chunk", cache_policy=NO_CACHE, **RETRY_ON_IO)  # writes the warehouse: never cached
def ingest_chunk(landing: str, warehouse: str, files: list[str], run_id: str) -> ChunkResult:
    """Ingest one chunk of discovered file names into the warehouse."""
    logger = get_run_logger()
    needs_key = any(name.startswith("enrolments_") for name in files)
    key = key_from_env() if needs_key else None
    with connect(warehouse) as con:
        result = ingest(Path(landing), con, files, run_id, key)
    docs = data_docs_dir(warehouse)
    for page_name, results in result.validations:
        write_validation_page(results, docs / run_id, page_name)
    if result.validations:
        refresh_index(docs)
    for outcome in result.outcomes:
        if outcome.schema_drift:
            logger.warning(
                "%s: schema drift, extra column(s) ignored: %s",
                outcome.name, ", ".join(outcome.schema_drift),
            )
        if outcome.status == REJECTED:
            logger.error("%s: rejected: %s", outcome.name, outcome.reason)
    logger.info(
        "chunk of %d file(s): %d loaded (%d rows, %d quarantined, %d duplicate), %d rejected",
        len(files), len(result.loaded),
        sum(o.rows_loaded or 0 for o in result.loaded),
        sum(o.rows_quarantined or 0 for o in result.loaded),
        sum(o.rows_duplicate or 0 for o in result.loaded),
        len(result.rejected),
    )
    return result
