"""Which publication a report shows (history.* alone), the changes and history chart it
shows, and the freshness banner of the latest run."""

import re
from datetime import date, datetime

import pytest

from cakupan.report.published_figures import read_history
from cakupan.report.writer import write_report
from cakupan.errors import NothingPublished
from cakupan.warehouse.publications import latest_publication, publication_as_of


@pytest.fixture
def publications(empty_warehouse):
    """history.publications rows written by the test: (run_id, as_of, published_at)."""

    def publish(run_id: str, as_of: date | None, published_at: datetime) -> None:
        empty_warehouse.execute(
            "insert into history.publications values (?, 'nightly', ?, ?, 1, 0, true)", [run_id, published_at, as_of]
        )

    return empty_warehouse, publish


def test_the_latest_publication_as_of_the_day_or_before_is_shown(publications):
    con, publish = publications
    publish("n1", date(2026, 2, 2), datetime(2026, 2, 3, 2))
    publish("n2", date(2026, 2, 3), datetime(2026, 2, 4, 2))
    publish("redo", date(2026, 2, 3), datetime(2026, 2, 4, 9))  # a re-delivery republished that day
    publish("n3", date(2026, 2, 9), datetime(2026, 2, 10, 2))
    assert publication_as_of(con, date(2026, 2, 2)).run_id == "n1"
    assert publication_as_of(con, date(2026, 2, 5)).run_id == "redo"
    assert publication_as_of(con, date(2026, 12, 31)).run_id == "n3"
    assert latest_publication(con).run_id == "n3"


def test_nothing_published_by_then_names_the_first_publication(publications):
    con, publish = publications
    with pytest.raises(NothingPublished, match=r"as of 2026-02-01 or before \(nothing has been published yet\)"):
        publication_as_of(con, date(2026, 2, 1))
    assert latest_publication(con) is None
    publish("empty", None, datetime(2026, 2, 2, 2))  # a run before anything was loaded
    publish("n1", date(2026, 2, 2), datetime(2026, 2, 3, 2))
    with pytest.raises(NothingPublished, match=r"\(the first publication is as of 2026-02-02\)"):
        publication_as_of(con, date(2026, 2, 1))


# --- the page: changes since the previous as_of, the history chart, the freshness banner ---

HEADLINE_CHANGE = re.compile(r'<div class="delta">(.*?)</div>')
BANNERS = re.compile(r'<div class="banner (\w+)" role="status">(.*?)</div>')


@pytest.fixture
def published_before(marts):
    """The hand-made marts as the latest publication (as of 31 December 2025), after two
    earlier ones: as of 30 November 2025 (2025: 1.500 covered, gap 1.060) and an earlier
    publication as of 31 December 2025 itself (2025: 1.600 covered)."""

    def publish(run_id, as_of, published_at, covered_2025=None, gap_2025=None):
        marts.execute("insert into history.publications values (?, 'nightly', ?, ?, 2, 0, true)",
                          [run_id, published_at, as_of])
        for table in ("coverage_city_year", "coverage_sector_year", "coverage_district_year"):
            marts.execute(f"insert into history.{table} select ?, * from mart.{table}", [run_id])
        if covered_2025 is not None:
            marts.execute(
                "update history.coverage_city_year set covered = ?, coverage_rate = ? / workforce, gap_workers = ?,"
                " ref_date = ? where run_id = ? and year = 2025",
                [covered_2025, covered_2025, gap_2025, as_of, run_id])

    publish("november", date(2025, 11, 30), datetime(2025, 12, 1, 2), covered_2025=1500, gap_2025=1060)
    publish("first-try", date(2025, 12, 31), datetime(2026, 1, 1, 2), covered_2025=1600, gap_2025=960)
    publish("current", date(2025, 12, 31), datetime(2026, 1, 1, 9))
    return marts


@pytest.mark.slow
def test_each_headline_shows_its_change_since_the_previous_as_of(published_before, tmp_path):
    page = (write_report(published_before, tmp_path / "report").index).read_text()

    since = "sejak data per 30 November 2025"  # not the same-day publication of 31 December
    assert HEADLINE_CHANGE.findall(page) == [
        f"+1,6 poin {since} (sebelumnya 18,8%); +127 tercakup",  # 1.627 / 8.000 against 1.500 / 8.000
        f"tidak berubah {since}",
        f"−127 pekerja {since} (sebelumnya 1.060)",
        f"tidak berubah {since}",
    ]
    assert "Sebagaimana diterbitkan (as published) 1 Januari 2026 09:00 UTC oleh run nightly current" in page


@pytest.mark.slow
def test_the_history_chart_has_one_point_per_published_as_of(published_before, tmp_path):
    files = write_report(published_before, tmp_path / "report")
    page = files.index.read_text()
    assert (tmp_path / "report" / "city_coverage_history.png") in files.charts
    assert "Cakupan 2025 per terbitan (coverage as published)" in page
    assert "(2 tanggal, 30 November 2025 sampai 31 Desember 2025)" in page
    rates = read_history(published_before, latest_publication(published_before)).rate_by_as_of(2025)
    assert [day.date() for day in rates["as_of"]] == [date(2025, 11, 30), date(2025, 12, 31)]
    assert rates["coverage_rate"].tolist() == pytest.approx([1500 / 8000, 1627 / 8000])  # the latest per as_of


@pytest.mark.slow
def test_without_history_there_is_no_change_and_no_history_chart(written_report):
    _, files = written_report
    page = files.index.read_text()
    assert HEADLINE_CHANGE.findall(page) == []
    assert "per terbitan" not in page and "city_coverage_history.png" not in [p.name for p in files.charts]


@pytest.mark.slow
def test_the_report_as_of_a_day_shows_that_publication_and_its_own_change(published_before, tmp_path):
    files = write_report(published_before, tmp_path / "then", as_published_on=date(2025, 12, 15))
    page = files.index.read_text()
    assert "keadaan per 30 November 2025" in page
    assert "oleh run nightly november" in page
    assert HEADLINE_CHANGE.findall(page) == []  # the first publication: nothing before it
    assert "1.500 dari 8.000 pekerja" in page


def record_nightly(con, freshness: str, newest: dict[str, date]) -> None:
    con.execute("insert into audit.runs (run_id, flow, parameters, started_at, state, freshness) values "
                "('n', 'nightly', '{\"as_of\": \"2025-12-31\"}', timestamp '2025-12-31 02:00', 'RUNNING', ?)",
                [freshness])
    for kind, extract_date in newest.items():
        con.execute("insert into audit.extract_files values (?, ?, ?, 'sha', 'LOADED', null, 1, 1, 0, 0, 'n', now())",
                    [f"{kind}_{extract_date:%Y%m%d}.csv", kind, extract_date])


@pytest.mark.slow
def test_a_late_kind_puts_a_banner_with_its_facts_on_the_page(marts, tmp_path):
    record_nightly(marts, "late", {"employers": date(2025, 12, 31), "enrolments": date(2025, 12, 29)})
    page = write_report(marts, tmp_path / "report").index.read_text()
    assert BANNERS.findall(page) == [
        ("warning", "Data BPJS belum terkini (delivery late): "
                    "enrolments extract late: newest 2025-12-29, 2 days before 2025-12-31"),
    ]


@pytest.mark.slow
def test_a_stale_kind_comes_first_and_stands_out(marts, tmp_path):
    record_nightly(marts, "stale", {"employers": date(2025, 12, 29), "enrolments": date(2025, 12, 20)})
    page = write_report(marts, tmp_path / "report").index.read_text()
    assert BANNERS.findall(page) == [
        ("danger", "Data BPJS belum terkini (delivery stale): "
                   "enrolments extract stale: newest 2025-12-20, 11 days before 2025-12-31"),
        ("warning", "Data BPJS belum terkini (delivery late): "
                    "employers extract late: newest 2025-12-29, 2 days before 2025-12-31"),
    ]


@pytest.mark.slow
def test_fresh_deliveries_put_no_banner(marts, tmp_path):
    record_nightly(marts, "fresh", {"employers": date(2025, 12, 30), "enrolments": date(2025, 12, 31)})
    assert BANNERS.findall(write_report(marts, tmp_path / "report").index.read_text()) == []
