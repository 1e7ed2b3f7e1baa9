from pathlib import Path

import pytest
from prefect.logging import disable_run_logger

from cakupan.flows.tasks.discover import LandedFile
from cakupan.flows.tasks.ingest import ChunkResult, ingest, ingest_chunk, plan_chunks
from cakupan.flows.tasks.load import LOADED
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import KEY_VARIABLE, PiiKeyMissing


def landed(name, size):
    return LandedFile(name, name.split("_")[0], None, "0" * 64, size)


def test_chunks_bounded_by_count_and_bytes_in_order():
    files = [landed(f"employers_2025010{n}.csv", 100) for n in range(1, 8)]
    assert plan_chunks(files, max_bytes=10_000, max_files=3) == [
        [f.name for f in files[0:3]], [f.name for f in files[3:6]], [files[6].name]
    ]
    assert plan_chunks(files, max_bytes=250, max_files=100) == [
        [f.name for f in files[0:2]], [f.name for f in files[2:4]], [f.name for f in files[4:6]], [files[6].name]
    ]
    assert plan_chunks([], max_bytes=250, max_files=100) == []


def test_big_file_alone_and_gzip_counted_uncompressed():
    files = [landed("enrolments_20250101.csv.gz", 100), landed("enrolments_20250102.csv", 10_000),
             landed("enrolments_20250103.csv", 100)]
    assert plan_chunks(files, max_bytes=600, max_files=100) == [
        ["enrolments_20250101.csv.gz"], ["enrolments_20250102.csv"], ["enrolments_20250103.csv"]
    ]


def test_chunk_with_real_rules_loads_good_files_and_rejects_bad_ones(
    tmp_path, tmp_landing, write_extract, employer, enrolment, ingest_key
):
    write_extract("employers_20250102.csv", [employer(1), employer(2, kbli="9999")])
    write_extract("enrolments_20250102.csv.gz", [enrolment(1), enrolment(1), enrolment(2, nik="123")])
    write_extract("enrolments_20250103.csv", [enrolment(3)], header=["kpj", "nik"])
    names = ["employers_20250102.csv", "enrolments_20250102.csv.gz", "enrolments_20250103.csv"]
    with connect(tmp_path / "w.duckdb") as con:
        result = ingest(tmp_landing, con, names, "run-1", ingest_key)
        quarantine = con.execute("select file_name, row_number, rules from audit.quarantine order by all").fetchall()
    by_name = {o.name: o for o in result.outcomes}
    assert [o.name for o in result.loaded] == names[:2]
    assert [o.name for o in result.rejected] == names[2:]
    assert by_name[names[2]].reason.startswith("header: required column(s) missing: npp")
    assert (by_name[names[1]].rows_read, by_name[names[1]].rows_loaded,
            by_name[names[1]].rows_quarantined, by_name[names[1]].rows_duplicate) == (3, 1, 1, 1)
    assert quarantine[0][:2] == ("employers_20250102.csv", 2) and "kbli_format" in quarantine[0][2]
    assert quarantine[1][:2] == ("enrolments_20250102.csv.gz", 3) and "nik_format" in quarantine[1][2]


def test_conflicting_duplicates_all_quarantined(tmp_path, tmp_landing, write_extract, employer, ingest_key):
    write_extract("employers_20250102.csv", [employer(1), employer(1, name="Other"), employer(2)])
    with connect(tmp_path / "w.duckdb") as con:
        outcome = ingest(tmp_landing, con, ["employers_20250102.csv"], "run-1", ingest_key).outcomes[0]
        rules = con.execute("select row_number, rules from audit.quarantine order by 1").fetchall()
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == (LOADED, 1, 2)
    assert [row for row, _ in rules] == [1, 2] and all("conflicting_duplicate" in r for _, r in rules)


def test_task_reads_the_key_from_the_environment(tmp_path, tmp_landing, write_extract, enrolment, ingest_key):
    write_extract("enrolments_20250102.csv", [enrolment(1)])
    with disable_run_logger():
        result = ingest_chunk.fn(str(tmp_landing), str(tmp_path / "w.duckdb"), ["enrolments_20250102.csv"], "run-1")
    assert isinstance(result, ChunkResult)
    assert [(o.status, o.rows_loaded) for o in result.outcomes] == [(LOADED, 1)]


def test_task_without_key_stops_naming_the_variable(tmp_path, tmp_landing, write_extract, enrolment, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    write_extract("enrolments_20250102.csv", [enrolment(1)])
    with disable_run_logger(), pytest.raises(PiiKeyMissing, match=KEY_VARIABLE):
        ingest_chunk.fn(str(tmp_landing), str(tmp_path / "w.duckdb"), ["enrolments_20250102.csv"], "run-1")


def test_employers_need_no_key(tmp_path, tmp_landing, write_extract, employer, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    write_extract("employers_20250102.csv", [employer(1)])
    with disable_run_logger():
        result = ingest_chunk.fn(str(tmp_landing), str(tmp_path / "w.duckdb"), ["employers_20250102.csv"], "run-1")
    assert [o.status for o in result.outcomes] == [LOADED]


def test_an_undiscoverable_name_is_refused(tmp_path, tmp_landing, ingest_key):
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(ValueError, match="employers_20250231.csv"):
        ingest(Path(tmp_landing), con, ["employers_20250231.csv"], "run-1", ingest_key)
