"""Settled delivery: a file is due only once its size and mtime have not changed for the
settle time, and are the same again while it is hashed and after a worker read it; a file
still changing is neither loaded nor rejected, and the next run takes it."""

import os
import time

import pytest

import cakupan.ingest.discover as discovery
from cakupan.ingest.audit import LOADED, UNSETTLED
from cakupan.ingest.discover import discover, plan
from cakupan.ingest.load import load_chunk
from cakupan.ingest.worker import prepare_slice
from cakupan.warehouse.connection import connect


def _aged(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_file_changed_within_the_settle_time_is_not_due_yet(warehouse, tmp_landing, write_extract, employer):
    fresh = write_extract("employers_20250102.csv", [employer(1)])
    old = write_extract("employers_20250101.csv", [employer(2)])
    _aged(old, 121)
    future = write_extract("employers_20250103.csv", [employer(3)])
    _aged(future, -3600)  # a clock ahead of ours: not settled until that time has passed
    with connect(warehouse) as con:
        found = discover(tmp_landing, con, settle_seconds=120)
        assert [f.name for f in found.selected] == ["employers_20250101.csv"]
        assert found.unsettled == ["employers_20250102.csv", "employers_20250103.csv"]
        assert found.rejected == [] and found.skipped == []
        _aged(fresh, 121)
        assert [f.name for f in discover(tmp_landing, con, settle_seconds=120).selected] == [
            "employers_20250101.csv", "employers_20250102.csv"]


def test_a_file_that_changes_while_discovery_hashes_it_is_not_settled(
    warehouse, tmp_landing, write_extract, employer, monkeypatch
):
    path = write_extract("employers_20250101.csv", [employer(1)])
    hash_bytes = discovery.file_sha256

    def hashed_while_appended(target):
        digest = hash_bytes(target)
        with target.open("a") as copy:
            copy.write("00000002,PT Dua,01111,KLOJEN,KECIL,3,2020-01-02,AKTIF,2024-12-30 10:00:00\n")
        return digest

    monkeypatch.setattr(discovery, "file_sha256", hashed_while_appended)
    with connect(warehouse) as con:
        found = discover(tmp_landing, con)
    assert found.selected == [] and found.unsettled == [path.name]


@pytest.mark.slow
def test_a_file_changed_between_discovery_and_reading_is_neither_loaded_nor_rejected(
    warehouse, tmp_path, tmp_landing, write_extract, enrolment, pii_key
):
    rows = [enrolment(n) for n in range(1, 41)]
    path = write_extract("enrolments_20250101.csv", rows[:24])  # the copy is 60% through
    with connect(warehouse) as con:
        (chunk,) = plan(discover(tmp_landing, con).selected)
        write_extract("enrolments_20250101.csv", rows)  # ... and completes before a worker reads it
        results = [prepare_slice(tmp_landing, work, tmp_path / "scratch", pii_key) for work in chunk.slices]
        [outcome] = load_chunk(con, results, "run-1")
        assert (outcome.status, outcome.reason) == (UNSETTLED, "not settled yet: it changed while it was read")
        assert con.execute("select count(*) from audit.extract_files").fetchone() == (0,)
        assert con.execute("select count(*) from raw.enrolments").fetchone() == (0,)

        (chunk,) = plan(discover(tmp_landing, con).selected)  # the next run: settled, loaded whole
        results = [prepare_slice(tmp_landing, work, tmp_path / "scratch", pii_key) for work in chunk.slices]
        [outcome] = load_chunk(con, results, "run-2")
    assert (outcome.name, outcome.status, outcome.rows_read, outcome.rows_loaded) == (path.name, LOADED, 40, 40)
