"""What the charts show: their bars and labels read back from the SVG match the data."""

import datetime as dt
import re
import struct
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from cakupan.report.charts import city_chart, compliance_chart, district_chart, sector_chart
from cakupan.report.data import read_published

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def element(svg: str, element_id: str) -> ET.Element:
    found = ET.fromstring(svg).find(f".//*[@id='{element_id}']")
    assert found is not None, element_id
    return found


def bar_box(svg: str, element_id: str) -> tuple[float, float, float, float]:
    """(left, top, width, height) of a bar, from its SVG path."""
    path = element(svg, element_id).find(f"{SVG}path")
    numbers = [float(n) for n in NUMBER.findall(path.get("d"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text") if t.text]


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", content[16:24])


@pytest.fixture(scope="module")
def published(written_report):
    warehouse, _ = written_report
    return read_published(warehouse)


def test_city_bars_are_as_tall_as_the_coverage_and_say_it(published):
    city = published["coverage_city_year"].frame
    path = pd.DataFrame({"year": [2025, 2026], "target_rate": [0.32, 0.352]})
    chart = city_chart(city, path)

    wide = chart.svgs["wide"]
    _, _, _, height_2024 = bar_box(wide, "city_coverage-wide-bar-2024")
    _, _, _, height_2025 = bar_box(wide, "city_coverage-wide-bar-2025")
    assert height_2024 / height_2025 == pytest.approx((1490 / 7998) / (1627 / 8000), rel=1e-3)
    assert {"18,6%", "20,3%", "35,2%"} <= set(texts(wide))
    narrow = chart.svgs["narrow"]  # a phone: years down the side, bars as long as the coverage
    _, _, width_2024, _ = bar_box(narrow, "city_coverage-narrow-bar-2024")
    _, _, width_2025, _ = bar_box(narrow, "city_coverage-narrow-bar-2025")
    assert width_2024 / width_2025 == pytest.approx((1490 / 7998) / (1627 / 8000), rel=1e-3)
    assert {"18,6%", "20,3%"} <= set(texts(narrow))
    assert png_size(chart.png)[0] == 1000


@pytest.mark.slow
def test_sector_bars_follow_the_table_order_and_names_are_whole(published):
    sectors = published["coverage_sector_year"].frame
    ordered = sectors[sectors["year"] == 2025].sort_values(
        ["coverage_rate", "sector"], ascending=[False, True], na_position="last")
    with_workforce = ordered[ordered["workforce"].notna()]
    chart = sector_chart(with_workforce, 2025)

    wide = chart.svgs["wide"]
    tops = [bar_box(wide, f"sector_coverage-wide-bar-{letter}")[1] for letter in with_workforce["sector"]]
    assert tops == sorted(tops)  # first row on top
    widths = {letter: bar_box(wide, f"sector_coverage-wide-bar-{letter}")[2] for letter in ("C", "G")}
    assert widths["C"] / widths["G"] == pytest.approx((650 / 1500) / (550 / 2000), rel=1e-3)
    assert bar_box(wide, "sector_coverage-wide-bar-T")[2] == 0  # suppressed: no bar, only "s"
    words = " ".join(texts(wide))
    long_name = "N  Aktivitas Penyewaan dan Sewa Guna Usaha Tanpa Hak Opsi, Ketenagakerjaan, Agen " \
                "Perjalanan dan Penunjang Usaha Lainnya"
    assert " ".join(long_name.split()) in " ".join(words.split())
    assert "…" not in words and "s" in texts(wide)
    # the phone shows the letter, with the whole name as its tooltip
    label = element(chart.svgs["narrow"], "sector_coverage-narrow-label-N")
    assert label.find(f"{SVG}title").text == long_name


def test_district_bars_hide_suppressed_cells(published):
    districts = published["coverage_district_year"].frame
    year = districts[districts["year"] == 2025].sort_values("district")
    chart = district_chart(year, 2025)

    for variant in ("wide", "narrow"):
        svg = chart.svgs[variant]
        bar = f"district_coverage-{variant}-bar"
        assert bar_box(svg, f"{bar}-KLOJEN-covered_informal")[2] == 0
        klojen, blimbing = (bar_box(svg, f"{bar}-{d}-covered_formal")[2] for d in ("KLOJEN", "BLIMBING"))
        assert klojen / blimbing == pytest.approx(500 / 300, rel=1e-3)
        assert {"Klojen", "Kedungkandang", "500", "s"} <= set(texts(svg))


def test_compliance_bars_rank_employers_with_their_whole_names():
    unregistered = pd.DataFrame({"npp": ["1", "2"], "name": ["PT Nama Yang Sangat Panjang Sekali Untuk Label", "CV $5 & <Dua>"],
                                 "unregistered_workers": [40, 10]})
    below = pd.DataFrame({"npp": ["3"], "name": ["UD Tiga"], "below_umk_accounts": [7]})
    chart = compliance_chart(unregistered, below)

    svg = chart.svgs["wide"]
    first, second = (bar_box(svg, f"compliance-wide-bar-unregistered_workers-{npp}") for npp in "12")
    assert first[2] / second[2] == pytest.approx(4, rel=1e-3) and first[1] < second[1]
    words = " ".join(" ".join(texts(svg)).split())
    assert "PT Nama Yang Sangat Panjang Sekali Untuk Label" in words
    assert "CV $5 & <Dua>" in words and {"40", "10", "7"} <= set(texts(svg))


def test_city_chart_without_any_target():
    city = pd.DataFrame({
        "year": [2024], "ref_date": [dt.date(2024, 12, 31)], "coverage_rate": [0.25], "covered": [10],
        "target_rate": pd.array([pd.NA], dtype="Float64"), "gap_workers": pd.array([pd.NA], dtype="Int64"),
        "workforce_carried_forward": [False],
    })
    no_path = pd.DataFrame({"year": pd.Series(dtype="Int64"), "target_rate": pd.Series(dtype="Float64")})

    chart = city_chart(city, no_path)
    assert "25,0%" in texts(chart.svgs["wide"])
    assert not [t for t in texts(chart.svgs["wide"]) if "Target" in t]


def test_compliance_chart_with_nobody_on_either_list():
    nobody = pd.DataFrame(columns=["npp", "name", "unregistered_workers", "below_umk_accounts"])

    chart = compliance_chart(nobody, nobody)
    assert texts(chart.svgs["wide"]).count("Tidak ada (none)") == 2
    assert "compliance-wide-bar" not in chart.svgs["wide"]
