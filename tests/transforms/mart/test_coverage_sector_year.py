"""Sector rows: all 21 sections zero-filled, X when present, targets with ALL fallback."""

import pytest

from ..conftest import SECTIONS


def sector_rows(pipeline, year: int = 2025) -> dict[str, dict]:
    rows = pipeline.rows("select * from mart.coverage_sector_year where year = ? order by sector", [year])
    return {row["sector"]: row for row in rows}


@pytest.mark.slow
def test_every_section_is_listed_in_every_year_and_x_only_where_someone_has_it(five_covered):
    five_covered.build()
    assert list(sector_rows(five_covered, 2025)) == [*SECTIONS, "X"]
    # before 2024 nobody was covered (accounts start 2024-01-01): no X row
    assert list(sector_rows(five_covered, 2023)) == list(SECTIONS)
    assert sector_rows(five_covered, 2023)["C"]["covered"] == 0
    assert sector_rows(five_covered)["C"]["sector_name"] == "Industri Pengolahan"


@pytest.mark.slow
def test_sector_counts_add_up_to_the_city_row(five_covered):
    five_covered.build()
    for year in range(2020, 2026):
        sums = five_covered.one(
            "select sum(covered) as covered, sum(covered_formal) as formal, sum(covered_informal) as informal, "
            "sum(covered_vulnerable) as vulnerable from mart.coverage_sector_year where year = ?", [year]
        )
        city = five_covered.one(
            "select covered, covered_formal as formal, covered_informal as informal, "
            "covered_vulnerable as vulnerable from mart.coverage_city_year where year = ?", [year]
        )
        assert sums == city, year


@pytest.mark.slow
def test_a_sector_with_its_own_target_uses_it_and_the_others_fall_back_to_all(five_covered):
    five_covered.set_targets(2025, {"ALL": 0.2, "C": 0.5})
    five_covered.build()
    rows = sector_rows(five_covered)
    c, g = rows["C"], rows["G"]
    assert (c["workforce"], c["workforce_formal"], c["covered"], c["covered_formal"]) == (10, 6, 2, 2)
    assert c["coverage_rate"] == pytest.approx(0.2)
    assert c["formal_coverage_rate"] == pytest.approx(2 / 6)
    assert (c["target_rate"], c["gap_workers"], c["on_track"]) == (0.5, 3, False)  # ceil(5) - 2
    assert (g["covered"], g["covered_informal"], g["covered_vulnerable"]) == (2, 1, 1)
    assert g["coverage_rate"] == pytest.approx(0.1)
    assert g["formal_coverage_rate"] == 0.0
    assert (g["target_rate"], g["gap_workers"], g["on_track"]) == (0.2, 2, False)  # ceil(4) - 2


@pytest.mark.slow
def test_a_section_with_zero_workforce_has_no_rates_and_no_gap(five_covered):
    five_covered.build()
    a = sector_rows(five_covered)["A"]
    assert (a["workforce"], a["covered"], a["coverage_rate"], a["formal_coverage_rate"]) == (0, 0, None, None)
    assert (a["target_rate"], a["gap_workers"], a["on_track"]) == (0.32, 0, None)


@pytest.mark.slow
def test_the_unknown_sector_has_counts_but_no_workforce_rates_or_target(five_covered):
    five_covered.set_targets(2025, {"ALL": 0.2})
    five_covered.build()
    x = sector_rows(five_covered)["X"]
    assert (x["covered"], x["covered_formal"], x["sector_name"]) == (1, 1, "Tidak diketahui")
    nulls = ("workforce", "workforce_formal", "workforce_carried_forward", "coverage_rate",
             "formal_coverage_rate", "target_rate", "gap_workers", "on_track")
    assert {column: x[column] for column in nulls} == dict.fromkeys(nulls)
