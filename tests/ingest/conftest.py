"""Running the ingest library end to end in the test process: plan, prepare every slice,
load chunk by chunk, as the flows do on their workers and writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from cakupan.ingest.audit import FileOutcome
from cakupan.ingest.discover import LandedFile, file_sha256, plan
from cakupan.ingest.extracts import parse_name
from cakupan.ingest.load import load_chunk
from cakupan.ingest.pseudonymise import prepare_slice
from cakupan.warehouse.connection import connect


@pytest.fixture
def ingest(tmp_path):
    """ingest(landing, warehouse, names, key, run_id="run-1", **plan options) -> {name: outcome}"""
    scratch = tmp_path / "scratch"

    def run(landing: Path, warehouse: Path, names: list[str], key, run_id: str = "run-1",
            pages: Path | None = None, **plan_options) -> dict[str, FileOutcome]:
        files = []
        for name in names:
            kind, extract_date = parse_name(name)
            files.append(LandedFile(name, kind, extract_date, file_sha256(landing / name), (landing / name).stat().st_size))
        outcomes: dict[str, FileOutcome] = {}
        with connect(warehouse) as con:
            for chunk in plan(files, **plan_options):
                results = [prepare_slice(landing, work, scratch / run_id, key, pages) for work in chunk.slices]
                outcomes |= {o.name: o for o in load_chunk(con, results, run_id)}
        return outcomes

    return run
