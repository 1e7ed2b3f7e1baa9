import datetime as dt

import pandas as pd
import pytest

from cakupan.report.data import read_published, read_sector_names_en, read_target_path
from cakupan.report.page import build_page, headline_figures


def city_row(**changes) -> pd.Series:
    row = dict(year=2026, ref_date=dt.date(2026, 3, 31), workforce=459084,
               workforce_carried_forward=True, covered=165270, coverage_rate=0.36,
               target_rate=0.352, gap_workers=0, on_track=True)
    return pd.Series({**row, **changes})


def test_headline_on_track_with_carried_forward_workforce():
    figures = headline_figures(city_row())

    assert [(f.label, f.value) for f in figures] == [
        ("Cakupan 2026 (coverage)", "36,0%"), ("Target 2026", "35,2%"),
        ("Kesenjangan (gap)", "0 pekerja"), ("Status", "Sesuai target"),
    ]
    assert figures[0].note.startswith("165.270 dari 459.084 pekerja per 31 Maret 2026.")
    assert "carried forward" in figures[0].note
    assert figures[3].tone == "good"


def test_headline_without_a_target():
    figures = headline_figures(city_row(target_rate=pd.NA, gap_workers=pd.NA, on_track=pd.NA,
                                        workforce_carried_forward=False))

    assert [f.value for f in figures] == ["36,0%", "–", "–", "Tanpa target"]
    assert "carried forward" not in figures[0].note


@pytest.mark.slow
def test_english_sector_names_are_shown_when_ref_sectors_is_loaded(marts):
    marts.execute("create table ref.sectors (sector varchar, sector_name varchar, sector_name_en varchar)")
    marts.execute("insert into ref.sectors values ('C', 'Industri Pengolahan', 'Manufacturing')")
    page = build_page(read_published(marts), read_target_path(marts), read_sector_names_en(marts))

    assert "C Industri Pengolahan (Manufacturing)" in page.html
    assert "Pendidikan (" not in page.html
