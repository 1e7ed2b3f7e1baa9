import json
import signal
import subprocess
import sys
import time

import pytest

from cakupan.ingest.audit import LOADED, REJECTED, SUPERSEDED
from cakupan.ingest.extracts import breaker_trips
from cakupan.ingest.worker import KeyNeeded
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import KEY_VARIABLE, PiiKey, PiiKeyMismatch


def bad_npp_rows(employer, good, bad):
    """`good` valid employers then `bad` whose npp breaks the npp_format rule."""
    return [employer(n) for n in range(1, good + 1)] + [
        employer(n, npp="12") for n in range(good + 1, good + bad + 1)
    ]


@pytest.mark.parametrize(
    "quarantined,data_rows,trips",
    [(10, 100, False), (11, 100, True), (11, 220, False), (12, 220, True), (10, 10, False), (0, 0, False)],
)
def test_breaker_trips_only_past_both_bounds(quarantined, data_rows, trips):
    assert breaker_trips(quarantined, data_rows) is trips


@pytest.mark.parametrize(
    "bad,data_rows,status",
    [(10, 100, LOADED), (11, 100, REJECTED), (11, 220, LOADED), (12, 220, REJECTED)],
)
def test_circuit_breaker_at_its_edges(
    ingest, warehouse, tmp_landing, write_extract, employer, pii_key, bad, data_rows, status
):
    write_extract("employers_20250102.csv", bad_npp_rows(employer, data_rows - bad, bad))
    outcome = ingest(tmp_landing, warehouse, ["employers_20250102.csv"], pii_key)[
        "employers_20250102.csv"
    ]
    assert outcome.status == status
    assert (outcome.rows_read, outcome.rows_quarantined) == (data_rows, bad)
    with connect(warehouse) as con:
        raw = con.execute("select count(*) from raw.employers").fetchone()[0]
        quarantine = con.execute("select count(*) from audit.quarantine").fetchone()[0]
    if status == LOADED:
        assert (raw, quarantine) == (data_rows - bad, bad)
    else:
        assert (raw, quarantine) == (0, 0)
        assert outcome.reason.startswith(f"circuit breaker: {bad} of {data_rows} data rows")
        assert "npp_format" in outcome.reason


def test_counts_reconcile_and_are_audited(
    ingest, warehouse, tmp_landing, write_extract, employer, pii_key
):
    rows = [employer(1), employer(2), employer(2), employer(3, npp="x"), ["00000004", "short"]]
    write_extract("employers_20250102.csv", rows)
    outcome = ingest(tmp_landing, warehouse, ["employers_20250102.csv"], pii_key)[
        "employers_20250102.csv"
    ]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined, outcome.rows_duplicate) == (5, 2, 2, 1)
    with connect(warehouse) as con:
        audit = con.execute(
            "select status, reason, rows_read, rows_loaded, rows_quarantined, rows_duplicate, run_id "
            "from audit.extract_files"
        ).fetchall()
        quarantine = con.execute(
            "select row_number, rules from audit.quarantine order by row_number"
        ).fetchall()
        raw = con.execute(
            "select npp, row_number, extract_date::varchar, reported_workers from raw.employers order by 2"
        ).fetchall()
    assert audit == [(LOADED, None, 5, 2, 2, 1, "run-1")]
    assert quarantine == [(4, ["npp_format"]), (5, ["field_count"])]
    assert raw == [("00000001", 1, "2025-01-02", 10), ("00000002", 2, "2025-01-02", 10)]


def test_enrolments_hashed_and_typed(
    ingest, warehouse, tmp_landing, write_extract, enrolment, pii_key
):
    row = enrolment(5, end_date="2024-06-30", status="NONAKTIF")
    write_extract("enrolments_20250102.csv", [row])
    ingest(tmp_landing, warehouse, ["enrolments_20250102.csv"], pii_key)
    with connect(warehouse) as con:
        stored = con.execute(
            "select kpj_hmac, nik_hmac, npp, wage, start_date::varchar, end_date::varchar, "
            "updated_at::varchar from raw.enrolments"
        ).fetchall()
        fingerprints = con.execute("select fingerprint from audit.pii_key").fetchall()
    assert stored == [
        (pii_key.digest(row["kpj"]), pii_key.digest(row["nik"]), "10000001", 4000000,
         "2024-01-01", "2024-06-30", "2025-01-02 08:00:00")
    ]
    assert fingerprints == [(pii_key.fingerprint,)]


@pytest.mark.slow
def test_changed_redelivery_supersedes_and_rejected_one_stops_old_rows(
    ingest, warehouse, tmp_landing, write_extract, employer, pii_key
):
    name = "employers_20250102.csv"
    write_extract(name, [employer(1), employer(2, npp="bad")])
    ingest(tmp_landing, warehouse, [name], pii_key, "run-1")
    write_extract(name, [employer(1), employer(3)])
    ingest(tmp_landing, warehouse, [name], pii_key, "run-2")
    with connect(warehouse) as con:
        assert con.execute("select npp from raw.employers order by 1").fetchall() == [("00000001",), ("00000003",)]
        assert con.execute(
            "select run_id, status from audit.extract_files order by run_id"
        ).fetchall() == [("run-1", SUPERSEDED), ("run-2", LOADED)]
        # The old version's quarantine stays as its history, under its own sha256.
        assert con.execute("select count(distinct sha256) from audit.quarantine").fetchone()[0] == 1
    write_extract(name, [employer(n, npp="bad") for n in range(12)])
    outcome = ingest(tmp_landing, warehouse, [name], pii_key, "run-3")[name]
    assert outcome.status == REJECTED
    with connect(warehouse) as con:
        assert con.execute("select count(*) from raw.employers").fetchone()[0] == 0
        assert con.execute(
            "select run_id, status from audit.extract_files order by run_id"
        ).fetchall() == [("run-1", SUPERSEDED), ("run-2", SUPERSEDED), ("run-3", REJECTED)]


def test_reloading_the_same_version_replaces_its_rows(
    ingest, warehouse, tmp_landing, write_extract, employer, pii_key
):
    name = "employers_20250102.csv"
    write_extract(name, [employer(1), employer(2, npp="bad")])
    ingest(tmp_landing, warehouse, [name], pii_key, "run-1")
    ingest(tmp_landing, warehouse, [name], pii_key, "run-2")
    with connect(warehouse) as con:
        assert con.execute("select count(*) from raw.employers").fetchone()[0] == 1
        assert con.execute("select count(*) from audit.quarantine").fetchone()[0] == 1
        assert con.execute("select status from audit.extract_files order by run_id").fetchall() == [
            (SUPERSEDED,), (LOADED,)
        ]


def test_no_raw_identifier_anywhere_in_the_warehouse(
    ingest, warehouse, tmp_landing, write_extract, enrolment, pii_key
):
    rows = [enrolment(n) for n in range(1, 6)] + [
        enrolment(6, nik="35730145"),                          # quarantined by rule
        [*enrolment(7).values()][:5],                          # field_count
        enrolment(8, npp=enrolment(9)["nik"]),                 # a nik in the wrong column
    ]
    write_extract("enrolments_20250102.csv", rows)
    write_extract("enrolments_20250103.csv", [enrolment(n, nik="1") for n in range(20, 40)])
    outcomes = ingest(tmp_landing, warehouse, ["enrolments_20250102.csv", "enrolments_20250103.csv"], pii_key)
    assert outcomes["enrolments_20250103.csv"].status == REJECTED
    identifiers = {
        value for n in [*range(1, 10), *range(20, 40)] for value in (enrolment(n)["nik"], enrolment(n)["kpj"])
    }
    identifiers.add("35730145")
    with connect(warehouse) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type like 'VARCHAR%'"
        ).fetchall()
        assert {(schema, column) for schema, _, column in columns} >= {("audit", "record"), ("raw", "nik_hmac")}
        stored = [
            value
            for schema, table, column in columns
            for (value,) in con.execute(f'select "{column}"::varchar from {schema}.{table}').fetchall()
            if value is not None
        ]
    assert len(stored) > 50
    leaks = [value for value in stored for identifier in identifiers if identifier in value]
    assert leaks == []


def test_missing_key_refused_before_anything_is_written(
    ingest, warehouse, tmp_landing, write_extract, enrolment
):
    write_extract("enrolments_20250102.csv", [enrolment(1)])
    with pytest.raises(KeyNeeded, match="key"):
        ingest(tmp_landing, warehouse, ["enrolments_20250102.csv"], None)
    with connect(warehouse) as con:
        assert con.execute("select count(*) from audit.extract_files").fetchone()[0] == 0


@pytest.mark.slow
def test_a_different_key_is_refused_and_nothing_written(
    ingest, warehouse, tmp_landing, write_extract, enrolment, pii_key
):
    write_extract("enrolments_20250102.csv", [enrolment(1)])
    ingest(tmp_landing, warehouse, ["enrolments_20250102.csv"], pii_key, "run-1")
    write_extract("enrolments_20250103.csv", [enrolment(2)])
    with pytest.raises(PiiKeyMismatch, match=KEY_VARIABLE):
        ingest(tmp_landing, warehouse, ["enrolments_20250103.csv"], PiiKey(b"another key"), "run-2")
    with connect(warehouse) as con:
        assert con.execute("select run_id from audit.extract_files").fetchall() == [("run-1",)]
        assert con.execute("select count(*) from raw.enrolments").fetchone()[0] == 1


KILLED_LOAD = """
import sys, time
from pathlib import Path
import cakupan.ingest.load as load
from cakupan.ingest.discover import look, plan
from cakupan.ingest.extracts import parse_name
from cakupan.ingest.worker import prepare_slice
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import key_from_env

landing, warehouse, scratch, marker, *names = sys.argv[1:]
insert_raw = load._insert_raw

def insert_then_stall(*args, **kwargs):
    insert_raw(*args, **kwargs)          # audit, quarantine and these raw rows are written...
    Path(marker).write_text("inside")    # ...but not committed when the process is killed
    time.sleep(600)

load._insert_raw = insert_then_stall
landing = Path(landing)
files = [look(landing / n, *parse_name(n)) for n in names]
(chunk,) = plan(files)
results = [prepare_slice(landing, work, Path(scratch), key_from_env()) for work in chunk.slices]
with connect(warehouse) as con:
    load.load_chunk(con, results, "killed-run")
"""


@pytest.mark.slow
def test_process_killed_mid_load_leaves_no_partial_file_and_rerun_completes(
    ingest, warehouse, tmp_path, tmp_landing, write_extract, employer, enrolment, pii_key
):
    write_extract("employers_20250101.csv", [employer(1)])
    ingest(tmp_landing, warehouse, ["employers_20250101.csv"], pii_key, "before")
    names = ["employers_20250102.csv", "enrolments_20250102.csv"]
    write_extract(names[0], [employer(n) for n in range(2, 50)] + [["0000", "short"]])
    write_extract(names[1], [enrolment(n) for n in range(1, 50)])
    marker = tmp_path / "inside-transaction"
    # The key reaches the child through the environment (set by pii_key).
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(tmp_landing), str(warehouse), str(tmp_path / "scratch"),
         str(marker), *names]
    )
    give_up = time.monotonic() + 300  # a safety net against a hung child, not a speed check
    try:
        while not marker.exists():
            assert process.poll() is None, "the loading process ended before the kill"
            assert time.monotonic() < give_up, "the loading process never reached the load"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    with connect(warehouse) as con:
        assert con.execute("select file_name, run_id from audit.extract_files").fetchall() == [
            ("employers_20250101.csv", "before")
        ]
        assert con.execute("select count(*) from raw.employers").fetchone()[0] == 1
        assert con.execute("select count(*) from raw.enrolments").fetchone()[0] == 0
        assert con.execute("select count(*) from audit.quarantine").fetchone()[0] == 0

    outcomes = ingest(tmp_landing, warehouse, names, pii_key, "rerun")
    assert [outcomes[name].status for name in names] == [LOADED, LOADED]
    with connect(warehouse) as con:
        assert con.execute("select count(*) from raw.employers").fetchone()[0] == 49
        assert con.execute("select count(*) from raw.enrolments").fetchone()[0] == 49
        assert json.loads(con.execute("select record from audit.quarantine").fetchone()[0])["npp"] == "0000"


@pytest.mark.slow
def test_good_files_load_and_bad_ones_are_rejected_in_one_chunk(
    ingest, warehouse, tmp_landing, write_extract, employer, enrolment, pii_key
):
    write_extract("employers_20250102.csv", [employer(1), employer(2, kbli="9999")])
    write_extract("enrolments_20250102.csv.gz", [enrolment(1), enrolment(1), enrolment(2, nik="123")])
    write_extract("enrolments_20250103.csv", [enrolment(3)], header=["kpj", "nik"])
    names = ["employers_20250102.csv", "enrolments_20250102.csv.gz", "enrolments_20250103.csv"]
    outcomes = ingest(tmp_landing, warehouse, names, pii_key)
    with connect(warehouse) as con:
        quarantine = con.execute("select file_name, row_number, rules from audit.quarantine order by all").fetchall()
    assert [outcomes[name].status for name in names] == [LOADED, LOADED, REJECTED]
    assert outcomes[names[2]].reason.startswith("header: required column(s) missing: npp")
    gz = outcomes[names[1]]
    assert (gz.rows_read, gz.rows_loaded, gz.rows_quarantined, gz.rows_duplicate) == (3, 1, 1, 1)
    assert quarantine[0][:2] == ("employers_20250102.csv", 2) and "kbli_format" in quarantine[0][2]
    assert quarantine[1][:2] == ("enrolments_20250102.csv.gz", 3) and "nik_format" in quarantine[1][2]


def test_conflicting_duplicates_all_quarantined(ingest, warehouse, tmp_landing, write_extract, employer, pii_key):
    write_extract("employers_20250102.csv", [employer(1), employer(1, name="Other"), employer(2)])
    outcome = ingest(tmp_landing, warehouse, ["employers_20250102.csv"], pii_key)["employers_20250102.csv"]
    with connect(warehouse) as con:
        rules = con.execute("select row_number, rules from audit.quarantine order by 1").fetchall()
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == (LOADED, 1, 2)
    assert [row for row, _ in rules] == [1, 2] and all("conflicting_duplicate" in r for _, r in rules)
