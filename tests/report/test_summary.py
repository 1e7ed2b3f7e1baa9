import pytest

from cakupan.report.summary import report_markdown
from cakupan.report.writer import write_report


@pytest.mark.slow
def test_summary_gives_the_latest_year_against_target_and_the_files(marts, tmp_path):
    out = tmp_path / "report"
    write_report(marts, out)
    summary = report_markdown(marts, out)

    assert summary.startswith("## Cakupan Kota Malang per 31 Desember 2025\n")
    assert "| Cakupan 2025 (coverage) | **20,3%** — 1.627 dari 8.000 pekerja" in summary
    assert "| Target 2025 | **32,0%**" in summary
    assert "| Kesenjangan (gap) | **933 pekerja**" in summary
    assert "**Di bawah target** — not on track" in summary
    assert f"`{(out / 'index.html').resolve()}`" in summary
    for name in ("index.html", "city_coverage.png", "coverage_sector_year.parquet", "employer_compliance.csv"):
        assert f"- `{name}`" in summary


def test_summary_before_any_report_file_says_so(marts, tmp_path):
    summary = report_markdown(marts, tmp_path / "not-yet")

    assert "20,3%" in summary and "belum ada file / no files yet" in summary


def test_summary_of_an_empty_warehouse(empty_warehouse, tmp_path):
    summary = report_markdown(empty_warehouse, tmp_path)

    assert "Belum ada data yang dimuat" in summary and "%" not in summary
