"""The landing's shape: determinism, clean rows, an initial load followed by daily deltas."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from cakupan.generator import generate

from .extract_rules import KEYS, check_landing


def _bytes_of(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.slow
def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    arguments = dict(start=date(2025, 3, 1), end=date(2025, 3, 10), scale=0.01, faults=0.05)
    generate(tmp_path / "first", seed=11, **arguments)
    generate(tmp_path / "again", seed=11, **arguments)
    generate(tmp_path / "other", seed=12, **arguments)

    first = _bytes_of(tmp_path / "first")
    assert first == _bytes_of(tmp_path / "again")
    other = _bytes_of(tmp_path / "other")
    assert first["enrolments_20250301.csv"] != other["enrolments_20250301.csv"]


def test_every_row_of_a_clean_landing_keeps_every_rule(clean_landing):
    problems = {checked.path.name: checked.problem for checked in clean_landing.files if checked.problem}
    bad = {checked.path.name: dict(list(checked.bad_rows.items())[:3]) for checked in clean_landing.files if checked.bad_rows}
    assert problems == {}
    assert bad == {}
    assert clean_landing.summary.bad_rows == 0 and clean_landing.summary.bad_files == ()


def test_a_clean_file_holds_each_key_once(clean_landing):
    for checked in clean_landing.files:
        keys = Counter(row[KEYS[checked.kind]] for row in checked.rows)
        assert not [key for key, count in keys.items() if count > 1], checked.path.name


def test_both_kinds_land_for_every_day(clean_landing):
    names = {checked.path.name for checked in clean_landing.files}
    day = date(2025, 1, 1)
    while day <= date(2025, 4, 30):
        for kind in ("employers", "enrolments"):
            assert f"{kind}_{day:%Y%m%d}.csv" in names
        day += timedelta(days=1)
    assert len(names) == 2 * 120 == clean_landing.summary.files_written


def test_initial_load_holds_ended_accounts_and_deltas_hold_changes_since_the_previous_extract(clean_landing):
    enrolments = sorted((c for c in clean_landing.files if c.kind == "enrolments"), key=lambda c: c.extract)
    initial, deltas = enrolments[0], enrolments[1:]
    statuses = Counter(row["status"] for row in initial.rows)
    assert statuses["AKTIF"] > 0 and statuses["NONAKTIF"] > 0 and statuses["BATAL"] > 0
    assert len(initial.rows) > 5 * max(len(delta.rows) for delta in deltas)

    previous = initial.extract
    for delta in deltas:
        for row in delta.rows:
            changed_on = date.fromisoformat(row["updated_at"][:10])
            assert previous < changed_on <= delta.extract, (delta.path.name, row["updated_at"])
        previous = delta.extract


def test_weekends_bring_header_only_deltas(clean_landing):
    header_only = [c for c in clean_landing.files if c.data_rows == 0]
    assert header_only and clean_landing.summary.header_only_files == len(header_only)
    assert all(c.extract.weekday() >= 5 or c.kind == "employers" for c in header_only)
    for checked in header_only:
        lines = checked.path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 1 and lines[0].startswith(KEYS[checked.kind] + ",")


def test_summary_counts_the_rows_written(clean_landing):
    for kind in ("employers", "enrolments"):
        written = sum(c.data_rows for c in clean_landing.files if c.kind == kind)
        assert clean_landing.summary.rows[kind] == written


@pytest.fixture(scope="module")
def window_run(tmp_path_factory):
    """Six weeks with a progress callback, seed 4."""
    folder = tmp_path_factory.mktemp("window")
    calls = []
    generate(folder, date(2025, 1, 20), date(2025, 3, 3), scale=0.01, seed=4, progress=lambda done, total: calls.append((done, total)))
    return folder, calls


def test_progress_reports_days_done_up_to_the_total(window_run):
    _, calls = window_run
    assert calls[-1] == (43, 43)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


@pytest.mark.slow
def test_the_extracts_of_a_date_do_not_depend_on_the_window(window_run, tmp_path):
    long, _ = window_run
    generate(tmp_path, date(2025, 1, 20), date(2025, 2, 10), scale=0.01, seed=4)
    short, whole = _bytes_of(tmp_path), _bytes_of(long)
    assert len(short) == 2 * 22
    assert short == {name: whole[name] for name in short}


@pytest.mark.parametrize(
    "arguments",
    [
        dict(start=date(2025, 2, 1), end=date(2025, 1, 1)),
        dict(start=date(2025, 1, 1), end=date(2025, 1, 2), scale=0),
        dict(start=date(2025, 1, 1), end=date(2025, 1, 2), faults=1.5),
        dict(start=date(2025, 1, 1), end=date(2025, 1, 2), seed=-1),
    ],
)
def test_impossible_arguments_are_refused(tmp_path, arguments):
    with pytest.raises(ValueError):
        generate(tmp_path, **arguments)
    assert list(tmp_path.iterdir()) == []


def test_a_single_day_is_an_initial_load_only(tmp_path):
    summary = generate(tmp_path, date(2025, 6, 30), date(2025, 6, 30), scale=0.01)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["employers_20250630.csv", "enrolments_20250630.csv"]
    assert all(not checked.problem and not checked.bad_rows for checked in check_landing(tmp_path))
    assert summary.rows["enrolments"] > 0


@pytest.mark.slow
def test_clean_landing_passes_the_pipelines_own_validation(clean_landing, ingest, warehouse):
    """The same rows through the project's reader and GX suites: nothing quarantined or rejected."""
    from tests.support import TEST_KEY

    names = sorted(p.name for p in clean_landing.folder.iterdir())
    outcomes = list(ingest(clean_landing.folder, warehouse, names, TEST_KEY).values())
    assert len(outcomes) == len(names)
    assert {o.status for o in outcomes} == {"LOADED"}
    assert sum(o.rows_quarantined for o in outcomes) == 0
    assert sum(o.rows_duplicate for o in outcomes) == 0
    assert sum(o.rows_loaded for o in outcomes) == sum(clean_landing.summary.rows.values())


def test_every_file_carries_the_modification_time_of_its_delivery_night(tmp_path):
    """So a landing generated just before a run is settled (CAKUPAN_SETTLE_SECONDS), like a real one."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    generate(tmp_path, start=date(2025, 3, 1), end=date(2025, 3, 10), scale=0.01, seed=11, faults=0.3)
    files = sorted(tmp_path.iterdir())
    assert len(files) >= 20
    for path in files:
        extract_date = datetime.strptime(path.name.split("_")[1][:8], "%Y%m%d").date()
        night = datetime.combine(extract_date, time(22), ZoneInfo("Asia/Jakarta"))
        assert path.stat().st_mtime == night.timestamp(), path.name
