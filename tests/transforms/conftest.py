"""The pipeline on hand-built extracts: a warehouse with the shipped reference data, fed
through the real ingestion, then the models.

`Pipeline.deliver` takes rows as they appear in an extract (raw nik and kpj), writes them
as a CSV file into a landing folder and runs the real ingestion (read -> GX validation ->
HMAC -> load), so every definition is tested on data that passed the pipeline's rules.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from cakupan.config import ReferenceFiles
from cakupan.ingest.extracts import SPEC_COLUMNS
from cakupan.transforms import build
from cakupan.transforms.explain import Explanation, explain
from cakupan.warehouse.connection import open_warehouse
from cakupan.warehouse.publications import Publication, PublishedRecord
from cakupan.warehouse.pii import PiiKey
from cakupan.warehouse.reference import load_reference

TEST_KEY = PiiKey(b"cakupan transforms test key")
SECTIONS = "ABCDEFGHIJKLMNOPQRSTU"


def nik(n: int) -> str:
    """A well-formed NIK of Kota Malang (3573...), distinct per n."""
    return f"3573011501{n:06d}"


def kpj(n: int) -> str:
    return f"{n:011d}"


def hashed(value: str) -> str:
    """What the warehouse holds instead of a nik or kpj."""
    return TEST_KEY.digest(value)


def employer(npp: str, **fields) -> dict:
    """An employer row with valid defaults (a KECIL manufacturer in KLOJEN)."""
    row = {
        "npp": npp,
        "name": f"PT Contoh {npp}",
        "kbli": "10110",
        "district": "KLOJEN",
        "size_class": "KECIL",
        "reported_workers": 10,
        "registered_on": "2020-01-01",
        "status": "AKTIF",
        "updated_at": None,  # None: the morning of the extract date
    }
    return row | fields


def account(kpj_number: str, nik_number: str, segment: str = "PU", **fields) -> dict:
    """A membership account row with valid defaults for its segment, active since 2024-01-01."""
    wage_earner = segment in ("PU", "JAKON")
    row = {
        "kpj": kpj_number,
        "nik": nik_number,
        "npp": "10000001" if wage_earner else None,
        "segment": segment,
        "kbli": None if wage_earner else "47111",
        "district": "KLOJEN",
        "programs": "JKK|JKM|JHT|JP" if wage_earner else "JKK|JKM",
        "wage": 4_000_000,
        "contribution_source": "EMPLOYER" if wage_earner else "SELF",
        "start_date": "2024-01-01",
        "end_date": None,
        "status": "AKTIF",
        "updated_at": None,
    }
    row |= fields
    if "status" not in fields and row["end_date"] is not None:
        row["status"] = "NONAKTIF"
    return row


@dataclass
class Pipeline:
    con: duckdb.DuckDBPyConnection
    folder: Path
    ingest: Callable

    def deliver(self, kind: str, extract_date: str, rows: list[dict] = ()) -> str:
        """Write one extract file (a delta) and ingest it as the pipeline does (read, GX
        validation, HMAC, load); a re-delivery replaces it. Every row must pass the rules."""
        file_name = f"{kind}_{extract_date.replace('-', '')}.csv"
        columns = SPEC_COLUMNS[kind]
        morning = f"{extract_date} 08:00:00"
        with (self.folder / file_name).open("w", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                values = {**row, "updated_at": row["updated_at"] or morning}
                writer.writerow(["" if values[c] is None else values[c] for c in columns])
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
def pipeline(warehouse, tmp_landing, ingest) -> Pipeline:
    con = open_warehouse(warehouse)
    load_reference(con, ReferenceFiles())
    yield Pipeline(con, tmp_landing, ingest)
    con.close()
