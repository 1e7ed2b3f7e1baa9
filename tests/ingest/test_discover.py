import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest

from cakupan.ingest.audit import LOADED, REJECTED
from cakupan.ingest.discover import LandedFile, Slice, discover, plan
from cakupan.ingest.extracts import parse_name
from cakupan.warehouse.connection import connect


def found(warehouse, landing, **selection):
    with connect(warehouse) as con:
        return discover(landing, con, **selection)


def names(files):
    return [landed.name for landed in files]


def test_parse_name():
    assert parse_name("employers_20250102.csv") == ("employers", date(2025, 1, 2))
    assert parse_name("enrolments_20240229.csv.gz") == ("enrolments", date(2024, 2, 29))
    assert parse_name("employers_20250231.csv") == ("employers", None)
    assert parse_name("employers_2025011.csv") is None
    assert parse_name("Employers_20250102.csv") is None
    assert parse_name("employers_20250102.csv.bak") is None
    assert parse_name("employers_20250102.csv\n") is None  # matched in full
    assert parse_name("enrolments_20250102.csv.gz\n") is None


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


def test_identical_redelivery_skipped_changed_one_selected(
    ingest, warehouse, tmp_landing, write_extract, employer, pii_key
):
    write_extract("employers_20250102.csv", [employer(1)])
    write_extract("employers_20250103.csv", [employer(n, npp="x") for n in range(1, 13)])
    ingest(tmp_landing, warehouse, ["employers_20250102.csv", "employers_20250103.csv"], pii_key)
    with connect(warehouse) as con:
        assert con.execute("select status from audit.extract_files order by file_name").fetchall() == [
            (LOADED,), (REJECTED,)
        ]
    write_extract("employers_20250102.csv", [employer(1)])  # same bytes again
    result = found(warehouse, tmp_landing)
    assert result.selected == [] and result.skipped == ["employers_20250102.csv"]
    assert result.skipped_rejected == ["employers_20250103.csv"]
    write_extract("employers_20250102.csv", [employer(1, name="Corrected")])
    write_extract("employers_20250103.csv", [employer(2)])
    assert names(found(warehouse, tmp_landing).selected) == ["employers_20250102.csv", "employers_20250103.csv"]


def test_nightly_takes_files_up_to_until(warehouse, tmp_landing, write_extract):
    for day in ("20250101", "20250102", "20250103"):
        write_extract(f"employers_{day}.csv", [])
    result = found(warehouse, tmp_landing, until=date(2025, 1, 2))
    assert names(result.selected) == ["employers_20250101.csv", "employers_20250102.csv"]


def test_backfill_reloads_every_file_in_range_and_resume_skips_done_ones(
    ingest, warehouse, tmp_landing, write_extract, employer, pii_key
):
    for day in ("20250101", "20250102", "20250103", "20250104"):
        write_extract(f"employers_{day}.csv", [employer(1)])
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    ingest(tmp_landing, warehouse, ["employers_20250102.csv"], pii_key)
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


def landed(name, size):
    kind, extract_date = parse_name(name)
    return LandedFile(name, kind, extract_date, "0" * 64, size)


def test_chunks_bounded_by_count_and_bytes_in_order():
    files = [landed(f"employers_2025010{n}.csv", 100) for n in range(1, 8)]
    assert [[f.name for f in c.files] for c in plan(files, chunk_bytes=10_000, chunk_files=3)] == [
        [f.name for f in files[0:3]], [f.name for f in files[3:6]], [files[6].name]
    ]
    assert [len(c.files) for c in plan(files, chunk_bytes=250, chunk_files=100)] == [2, 2, 2, 1]
    assert plan([]) == []


def test_big_file_alone_and_gzip_counted_uncompressed():
    files = [landed("enrolments_20250101.csv.gz", 100), landed("enrolments_20250102.csv", 10_000),
             landed("enrolments_20250103.csv", 100)]
    assert [[f.name for f in c.files] for c in plan(files, chunk_bytes=600)] == [
        ["enrolments_20250101.csv.gz"], ["enrolments_20250102.csv"], ["enrolments_20250103.csv"]
    ]


def test_slices_hold_one_kind_and_only_a_big_file_is_cut_in_parts():
    files = [landed("employers_20250101.csv", 100), landed("enrolments_20250101.csv", 100),
             landed("employers_20250102.csv", 100), landed("enrolments_20250102.csv", 1_000)]
    (chunk,) = plan(files, parts_per_file=3, slice_bytes=250)
    assert chunk.slices == (
        Slice("employers", ("employers_20250101.csv", "employers_20250102.csv")),
        Slice("enrolments", ("enrolments_20250101.csv",)),
        *(Slice("enrolments", ("enrolments_20250102.csv",), part, 3) for part in range(3)),
    )
    assert chunk.slices[-1].name == "enrolments_20250102-to-enrolments_20250102-part-3-of-3"
    # One worker: the big file is one slice, read once.
    assert plan(files, parts_per_file=1, slice_bytes=250)[0].slices[-1] == Slice(
        "enrolments", ("enrolments_20250102.csv",)
    )
