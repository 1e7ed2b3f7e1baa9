"""The pipeline on hand-built extracts: a warehouse with the shipped reference data, fed
through the real ingestion, then the models.

`Pipeline.deliver` takes rows as they appear in an extract (raw nik and kpj), writes them
as a CSV file into a landing folder and runs the real ingestion (read -> GX validation ->
HMAC -> load), so every definition is tested on data that passed the pipeline's rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from cakupan.config import ReferenceFiles
from cakupan.transforms import build
from cakupan.transforms.explain import Explanation, explain
from cakupan.warehouse.connection import open_warehouse
from cakupan.warehouse.publications import Publication, PublishedRecord
from cakupan.warehouse.reference import load_reference
from tests.support import TEST_KEY, employer_row, enrolment_row, kpj, nik

SECTIONS = "ABCDEFGHIJKLMNOPQRSTU"
# The tests here build rows with the shared builders, by the names of what they model.
employer, account = employer_row, enrolment_row
__all__ = ["SECTIONS", "Pipeline", "account", "employer", "hashed", "kpj", "nik"]


def hashed(value: str) -> str:
    """What the warehouse holds instead of a nik or kpj."""
    return TEST_KEY.digest(value)


@dataclass
class Pipeline:
    con: duckdb.DuckDBPyConnection
    folder: Path
    ingest: Callable
    write_extract: Callable

    def deliver(self, kind: str, extract_date: str, rows: list[dict] = ()) -> str:
        """Write one extract file (a delta) and ingest it as the pipeline does (read, GX
        validation, HMAC, load); a re-delivery replaces it. Every row must pass the rules."""
        file_name = f"{kind}_{extract_date.replace('-', '')}.csv"
        self.write_extract(file_name, rows)
        (outcome,) = self.ingest(self.folder, self.con, [file_name], TEST_KEY, "test").values()
        assert (outcome.status, outcome.rows_loaded) == ("LOADED", len(rows)), self.rows(
            "select row_number, rules from audit.quarantine where file_name = ?", [file_name]
        ) or outcome
        return file_name

    def deliver_rejected(self, kind: str, extract_date: str) -> str:
        """Deliver a file the pipeline rejects whole (its header lacks a required column)."""
        file_name = f"{kind}_{extract_date.replace('-', '')}.csv"
        (self.folder / file_name).write_text("npp,name\n10000001,PT Contoh\n")
        (outcome,) = self.ingest(self.folder, self.con, [file_name], TEST_KEY, "test").values()
        assert outcome.status == "REJECTED", outcome
        return file_name

    def explain(self, year: int, p0: PublishedRecord, p1: PublishedRecord, **options) -> Explanation:
        return explain(self.con, year, p0, p1, **options)

    def build(self) -> None:
        build(self.con)

    def publish(self, run_id: str, flow: str = "nightly") -> PublishedRecord:
        """Rebuild as a run of the pipeline does: the marts and their history.* copy."""
        return build(self.con, Publication(run_id, flow, files_loaded=1, files_rejected=0))

    def rows(self, sql: str, parameters: list | None = None) -> list[dict]:
        """Query result as dicts (fetched at once: DuckDB drops unfetched rows on commit)."""
        result = self.con.execute(sql, parameters or [])
        names = [column[0] for column in result.description]
        return [dict(zip(names, values)) for values in result.fetchall()]

    def one(self, sql: str, parameters: list | None = None) -> dict:
        found = self.rows(sql, parameters)
        assert len(found) == 1, f"expected one row from {sql!r}, got {found}"
        return found[0]

    def set_workforce(self, year: int, by_sector: dict[str, tuple[int, int]]) -> None:
        """Replace the year's workforce: (employed, employed_formal) per section, 0 elsewhere."""
        self.con.execute("delete from ref.workforce where year = ?", [year])
        for sector in SECTIONS:
            employed, formal = by_sector.get(sector, (0, 0))
            self.con.execute(
                "insert into ref.workforce (year, sector, employed, employed_formal) values (?, ?, ?, ?)",
                [year, sector, employed, formal],
            )

    def set_targets(self, year: int, by_sector: dict[str, float]) -> None:
        """Replace the year's targets: a rate per section letter or 'ALL'."""
        self.con.execute("delete from ref.targets where year = ?", [year])
        for sector, rate in by_sector.items():
            self.con.execute("insert into ref.targets values (?, ?, ?)", [year, sector, rate])


@pytest.fixture
def pipeline(warehouse, tmp_landing, ingest, write_extract) -> Pipeline:
    con = open_warehouse(warehouse)
    load_reference(con, ReferenceFiles())
    yield Pipeline(con, tmp_landing, ingest, write_extract)
    con.close()
