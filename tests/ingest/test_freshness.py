"""Freshness per kind: newest loaded extract against the run date, at the thresholds' edges."""

from datetime import date, timedelta

import pytest

from cakupan.config import FreshnessThresholds, freshness_thresholds
from cakupan.warehouse.connection import open_warehouse
from cakupan.warehouse.freshness import assess, check_freshness, freshness_of_latest_run

RUN_DATE = date(2026, 2, 10)
DEFAULTS = FreshnessThresholds()


def days_ago(days: int) -> date:
    return RUN_DATE - timedelta(days=days)


@pytest.mark.parametrize("days, level", [(0, "fresh"), (1, "fresh"), (2, "late"), (3, "late"), (4, "stale")])
def test_levels_at_the_default_thresholds_edges(days, level):
    freshness = assess({"employers": days_ago(days), "enrolments": days_ago(0)}, RUN_DATE, DEFAULTS)
    assert [(k.kind, k.days_before, k.level) for k in freshness.kinds] == [
        ("employers", days, level), ("enrolments", 0, "fresh"),
    ]
    assert freshness.level == level


def test_the_run_is_as_bad_as_its_worst_kind_and_says_so_in_one_line():
    freshness = assess({"employers": date(2026, 2, 3), "enrolments": date(2026, 2, 8)}, RUN_DATE, DEFAULTS)
    assert freshness.level == "stale"
    assert freshness.stale_message() == "employers extract stale: newest 2026-02-03, 7 days before 2026-02-10"
    assert freshness.problems() == [
        "employers extract stale: newest 2026-02-03, 7 days before 2026-02-10",
        "enrolments extract late: newest 2026-02-08, 2 days before 2026-02-10",
    ]


def test_a_kind_never_delivered_is_stale():
    freshness = assess({"enrolments": RUN_DATE}, RUN_DATE, DEFAULTS)
    assert freshness.stale_message() == "employers extract stale: none loaded by 2026-02-10"


def test_fresh_deliveries_have_no_problem_and_no_stale_message():
    freshness = assess({"employers": days_ago(1), "enrolments": days_ago(1)}, RUN_DATE, DEFAULTS)
    assert (freshness.level, freshness.problems(), freshness.stale_message()) == ("fresh", [], None)


def test_thresholds_come_from_the_environment(monkeypatch):
    assert freshness_thresholds() == FreshnessThresholds(late_days=1, stale_days=3)
    monkeypatch.setenv("CAKUPAN_LATE_DAYS", "2")
    monkeypatch.setenv("CAKUPAN_STALE_DAYS", "5")
    thresholds = freshness_thresholds()
    levels = [assess({"employers": days_ago(d), "enrolments": RUN_DATE}, RUN_DATE, thresholds).level
              for d in (2, 3, 5, 6)]
    assert levels == ["fresh", "late", "late", "stale"]


@pytest.mark.parametrize("late, stale, named", [("x", "3", "CAKUPAN_LATE_DAYS"), ("1", "-2", "CAKUPAN_STALE_DAYS"),
                                                ("4", "3", "CAKUPAN_STALE_DAYS=3 is below CAKUPAN_LATE_DAYS=4")])
def test_a_bad_threshold_is_named(monkeypatch, late, stale, named):
    monkeypatch.setenv("CAKUPAN_LATE_DAYS", late)
    monkeypatch.setenv("CAKUPAN_STALE_DAYS", stale)
    with pytest.raises(ValueError, match=named):
        freshness_thresholds()


@pytest.fixture
def audited(tmp_path):
    """A warehouse whose audit.extract_files rows are written by the test: (kind, date, status)."""
    con = open_warehouse(tmp_path / "w.duckdb")

    def record(kind: str, extract_date: date, status: str = "LOADED") -> None:
        con.execute(
            "insert into audit.extract_files values (?, ?, ?, 'sha', ?, null, 1, 1, 0, 0, 'run', now())",
            [f"{kind}_{extract_date:%Y%m%d}.csv", kind, extract_date, status],
        )

    yield con, record
    con.close()


def test_only_loaded_files_dated_up_to_the_run_date_count(audited):
    con, record = audited
    record("employers", days_ago(5))
    record("employers", days_ago(1), "REJECTED")
    record("enrolments", days_ago(2), "SUPERSEDED")
    record("enrolments", days_ago(3))
    record("enrolments", RUN_DATE + timedelta(days=2))  # loaded by a run with a later date
    freshness = check_freshness(con, RUN_DATE, DEFAULTS)
    assert [(k.kind, k.newest, k.level) for k in freshness.kinds] == [
        ("employers", days_ago(5), "stale"), ("enrolments", days_ago(3), "late"),
    ]


def test_the_report_banner_follows_the_latest_run_and_a_backfill_has_none(audited):
    con, record = audited
    record("employers", days_ago(2))
    record("enrolments", days_ago(1))
    assert freshness_of_latest_run(con, DEFAULTS) is None
    con.execute("insert into audit.runs (run_id, flow, parameters, started_at, state, freshness) values "
                "('n1', 'nightly', ?, timestamp '2026-02-10 02:00', 'COMPLETED', 'late')",
                [f'{{"as_of": "{RUN_DATE}"}}'])
    assert freshness_of_latest_run(con, DEFAULTS).problems() == [
        "employers extract late: newest 2026-02-08, 2 days before 2026-02-10"
    ]
    con.execute("insert into audit.runs (run_id, flow, parameters, started_at, state) values "
                "('b1', 'backfill', '{}', timestamp '2026-02-10 09:00', 'COMPLETED')")
    assert freshness_of_latest_run(con, DEFAULTS) is None


def test_the_latest_run_shows_the_level_it_recorded_whatever_the_thresholds_are_now(audited):
    """audit.runs keeps the run's verdict: thresholds tightened since raise no alarm it did not."""
    con, record = audited
    record("employers", days_ago(2))
    record("enrolments", days_ago(1))
    tighter = FreshnessThresholds(late_days=0, stale_days=1)
    con.execute("insert into audit.runs (run_id, flow, parameters, started_at, state, freshness) values "
                "('n1', 'nightly', ?, timestamp '2026-02-10 02:00', 'COMPLETED', 'late')",
                [f'{{"as_of": "{RUN_DATE}"}}'])
    assert check_freshness(con, RUN_DATE, tighter).level == "stale"
    shown = freshness_of_latest_run(con, tighter)
    assert (shown.level, shown.problems()) == ("late", [
        "employers extract late: newest 2026-02-08, 2 days before 2026-02-10",
        "enrolments extract late: newest 2026-02-09, 1 day before 2026-02-10",
    ])
    con.execute("update audit.runs set freshness = 'fresh'")
    assert freshness_of_latest_run(con, tighter).problems() == []
