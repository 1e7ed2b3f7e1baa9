import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest

from cakupan.flows.tasks.discover import discover, discover_files, parse_name
from cakupan.flows.tasks.ingest import ingest
from cakupan.flows.tasks.load import LOADED, REJECTED, SUPERSEDED
from cakupan.warehouse.connection import connect


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


def found(warehouse, landing, **selection):
    with connect(warehouse) as con:
        return discover(landing, con, **selection)


def names(files):
    return [landed.name for landed in files]


def load(warehouse, landing, files, key, validate, run_id="run-1"):
    with connect(warehouse) as con:
        return ingest(landing, con, files, run_id, key, validate)


def test_parse_name():
    assert parse_name("employers_20250102.csv") == ("employers", date(2025, 1, 2))
    assert parse_name("enrolments_20240229.csv.gz") == ("enrolments", date(2024, 2, 29))
    assert parse_name("employers_20250231.csv") == ("employers", None)
    assert parse_name("employers_2025011.csv") is None
    assert parse_name("Employers_20250102.csv") is None
    assert parse_name("employers_20250102.csv.bak") is None


def test_kind_date_sha_and_ignored(warehouse, tmp_landing, write_extract, employer):
    path = write_extract("employers_20250102.csv", [employer(1)])
    write_extract("enrolments_20250101.csv.gz", [])
    (tmp_landing / "notes.txt").write_text("hello")
    (tmp_landing / "archive").mkdir()
    (tmp_landing / "archive" / "employers_20250103.csv").write_text("npp\n")
    result = found(warehouse, tmp_landing)
    assert names(result.selected) == ["enrolments_20250101.csv.gz", "employers_20250102.csv"]
    first = result.selected[1]
    assert (first.kind, first.extract_date, first.size) == ("employers", date(2025, 1, 2), path.stat().st_size)
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(result.ignored) == ["archive", "notes.txt"]
    assert result.rejected == []


def test_impossible_date_rejected_and_recorded_once(warehouse, tmp_landing, write_extract):
    write_extract("employers_20250231.csv", [])
    result = discover_files.fn(str(tmp_landing), str(warehouse), "run-1")
    assert [(o.name, o.status, o.extract_date) for o in result.rejected] == [
        ("employers_20250231.csv", REJECTED, None)
    ]
    assert "impossible extract date" in result.rejected[0].reason
    again = discover_files.fn(str(tmp_landing), str(warehouse), "run-2")
    assert again.rejected == [] and again.skipped == ["employers_20250231.csv"]
    with connect(warehouse) as con:
        assert con.execute("select file_name, kind, status, run_id from audit.extract_files").fetchall() == [
            ("employers_20250231.csv", "employers", REJECTED, "run-1")
        ]


def test_csv_and_gz_of_one_date_both_rejected_as_ambiguous(
    warehouse, tmp_landing, write_extract, employer, ingest_key, simple_validate
):
    write_extract("employers_20250102.csv", [employer(1)])
    load(warehouse, tmp_landing, ["employers_20250102.csv"], ingest_key, simple_validate)
    write_extract("employers_20250102.csv.gz", [employer(1)])
    write_extract("enrolments_20250102.csv", [])
    result = discover_files.fn(str(tmp_landing), str(warehouse), "run-2")
    assert names(result.selected) == ["enrolments_20250102.csv"]
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
    assert discover_files.fn(str(tmp_landing), str(warehouse), "run-3").rejected == []
    # Resolved by removing one: the other is due again.
    (tmp_landing / "employers_20250102.csv.gz").unlink()
    assert names(found(warehouse, tmp_landing).selected) == [
        "employers_20250102.csv", "enrolments_20250102.csv"
    ]


def test_identical_redelivery_skipped_changed_one_selected(
    warehouse, tmp_landing, write_extract, employer, ingest_key, simple_validate
):
    write_extract("employers_20250102.csv", [employer(1)])
    write_extract("employers_20250103.csv", [employer(n, npp="x") for n in range(1, 13)])
    load(warehouse, tmp_landing, ["employers_20250102.csv", "employers_20250103.csv"], ingest_key, simple_validate)
    with connect(warehouse) as con:
        assert con.execute("select status from audit.extract_files order by file_name").fetchall() == [
            (LOADED,), (REJECTED,)
        ]
    write_extract("employers_20250102.csv", [employer(1)])  # same bytes again
    result = found(warehouse, tmp_landing)
    assert result.selected == [] and result.skipped == ["employers_20250102.csv", "employers_20250103.csv"]
    write_extract("employers_20250102.csv", [employer(1, name="Corrected")])
    write_extract("employers_20250103.csv", [employer(2)])
    assert names(found(warehouse, tmp_landing).selected) == ["employers_20250102.csv", "employers_20250103.csv"]


def test_nightly_takes_files_up_to_until(warehouse, tmp_landing, write_extract):
    for day in ("20250101", "20250102", "20250103"):
        write_extract(f"employers_{day}.csv", [])
    result = found(warehouse, tmp_landing, until=date(2025, 1, 2))
    assert names(result.selected) == ["employers_20250101.csv", "employers_20250102.csv"]


def test_backfill_reloads_every_file_in_range_and_resume_skips_done_ones(
    warehouse, tmp_landing, write_extract, employer, ingest_key, simple_validate
):
    for day in ("20250101", "20250102", "20250103", "20250104"):
        write_extract(f"employers_{day}.csv", [employer(1)])
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    load(warehouse, tmp_landing, ["employers_20250102.csv"], ingest_key, simple_validate)
    in_range = dict(start=date(2025, 1, 2), end=date(2025, 1, 3))
    assert names(found(warehouse, tmp_landing, **in_range).selected) == [
        "employers_20250102.csv", "employers_20250103.csv"
    ]
    resumed = found(warehouse, tmp_landing, loaded_since=before, **in_range)
    assert names(resumed.selected) == ["employers_20250103.csv"]
    assert resumed.skipped == ["employers_20250102.csv"]
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert len(found(warehouse, tmp_landing, loaded_since=later, **in_range).selected) == 2
    # A file changed since its load is redone on resume.
    write_extract("employers_20250102.csv", [employer(2)])
    assert len(found(warehouse, tmp_landing, loaded_since=before, **in_range).selected) == 2


@pytest.mark.parametrize(
    "selection,message",
    [
        (dict(start=date(2025, 1, 2)), "both start and end"),
        (dict(start=date(2025, 1, 2), end=date(2025, 1, 1)), "after end"),
        (dict(until=date(2025, 1, 2), start=date(2025, 1, 1), end=date(2025, 1, 2)), "either until"),
        (dict(loaded_since=datetime(2025, 1, 1)), "backfill only"),
    ],
)
def test_bad_selection_is_a_clear_error(warehouse, tmp_landing, selection, message):
    with pytest.raises(ValueError, match=message):
        found(warehouse, tmp_landing, **selection)


def test_missing_landing_folder_named(warehouse, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        found(warehouse, tmp_path / "nowhere")
