"""The thin Prefect tasks over the ingest library: the key from the worker's environment,
name-level rejections recorded by discovery."""

from dataclasses import replace

import pytest
from prefect.logging import disable_run_logger

from cakupan.config import DEFAULT_DUCKDB_MEMORY_LIMIT, run_settings
from cakupan.flows.tasks.discover import discover_files
from cakupan.flows.tasks.ingest import load, prepare
from cakupan.ingest.audit import LOADED, REJECTED, SUPERSEDED
from cakupan.ingest.discover import Slice, discover
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import KEY_VARIABLE, PiiKeyMissing


SETTINGS = replace(run_settings(), settle_seconds=0)


def prepared(landing, warehouse, work):
    scratch, pages = warehouse.parent / "scratch", warehouse.parent / "pages"
    return prepare.fn(str(landing), work, str(scratch), str(pages))


def test_a_worker_reads_the_key_from_its_environment(warehouse, tmp_landing, write_extract, enrolment, pii_key):
    write_extract("enrolments_20250102.csv", [enrolment(1)])
    result = prepared(tmp_landing, warehouse, Slice("enrolments", ("enrolments_20250102.csv",)))
    assert result.key_fingerprint == pii_key.fingerprint
    with disable_run_logger():
        outcomes = load.fn(str(warehouse), [result], "run-1", DEFAULT_DUCKDB_MEMORY_LIMIT)
    assert [(o.status, o.rows_loaded) for o in outcomes] == [(LOADED, 1)]
    with connect(warehouse) as con:
        assert con.execute("select kpj_hmac from raw.enrolments").fetchall() == [(pii_key.digest(enrolment(1)["kpj"]),)]


def test_a_worker_without_key_stops_naming_the_variable_and_writes_nothing(
    warehouse, tmp_landing, write_extract, enrolment, monkeypatch
):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    write_extract("enrolments_20250102.csv", [enrolment(1)])
    with pytest.raises(PiiKeyMissing, match=KEY_VARIABLE):
        prepared(tmp_landing, warehouse, Slice("enrolments", ("enrolments_20250102.csv",)))
    assert not warehouse.parent.exists()


def test_employers_need_no_key(warehouse, tmp_landing, write_extract, employer, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    write_extract("employers_20250102.csv", [employer(1)])
    result = prepared(tmp_landing, warehouse, Slice("employers", ("employers_20250102.csv",)))
    with disable_run_logger():
        assert [o.status for o in load.fn(str(warehouse), [result], "run-1", DEFAULT_DUCKDB_MEMORY_LIMIT)] == [LOADED]


def test_impossible_date_rejected_and_recorded_once(warehouse, tmp_landing, write_extract):
    write_extract("employers_20250231.csv", [])
    result = discover_files.fn(str(tmp_landing), str(warehouse), "run-1", SETTINGS)
    assert [(o.name, o.status, o.extract_date) for o in result.rejected] == [
        ("employers_20250231.csv", REJECTED, None)
    ]
    assert "impossible extract date" in result.rejected[0].reason
    again = discover_files.fn(str(tmp_landing), str(warehouse), "run-2", SETTINGS)
    assert again.rejected == [] and again.skipped_rejected == ["employers_20250231.csv"]
    with connect(warehouse) as con:
        assert con.execute("select file_name, kind, status, run_id from audit.extract_files").fetchall() == [
            ("employers_20250231.csv", "employers", REJECTED, "run-1")
        ]


def test_csv_and_gz_of_one_date_both_rejected_as_ambiguous(
    warehouse, tmp_landing, write_extract, employer, pii_key
):
    write_extract("employers_20250102.csv", [employer(1)])
    result = prepared(tmp_landing, warehouse, Slice("employers", ("employers_20250102.csv",)))
    with disable_run_logger():
        load.fn(str(warehouse), [result], "run-1", DEFAULT_DUCKDB_MEMORY_LIMIT)
    write_extract("employers_20250102.csv.gz", [employer(1)])
    write_extract("enrolments_20250102.csv", [])
    result = discover_files.fn(str(tmp_landing), str(warehouse), "run-2", SETTINGS)
    assert [f.name for f in result.selected] == ["enrolments_20250102.csv"]
    assert sorted(o.name for o in result.rejected) == ["employers_20250102.csv", "employers_20250102.csv.gz"]
    assert all(o.reason.startswith("ambiguous:") and "employers 2025-01-02" in o.reason for o in result.rejected)
    with connect(warehouse) as con:
        # The loaded .csv stops counting: the date's content is in doubt.
        assert con.execute("select count(*) from raw.employers").fetchone()[0] == 0
        assert con.execute(
            "select file_name, status from audit.extract_files order by all"
        ).fetchall() == [
            ("employers_20250102.csv", REJECTED), ("employers_20250102.csv", SUPERSEDED),
            ("employers_20250102.csv.gz", REJECTED),
        ]
    # Still ambiguous the next night: not recorded again.
    assert discover_files.fn(str(tmp_landing), str(warehouse), "run-3", SETTINGS).rejected == []
    # Resolved by removing one: the other is due again.
    (tmp_landing / "employers_20250102.csv.gz").unlink()
    with connect(warehouse) as con:
        assert [f.name for f in discover(tmp_landing, con).selected] == [
            "employers_20250102.csv", "enrolments_20250102.csv"
        ]
