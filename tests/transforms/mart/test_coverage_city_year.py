"""City coverage against workforce and target: rates, gap_workers, on_track."""

import pytest


def city_2025(pipeline) -> dict:
    return pipeline.one("select * from mart.coverage_city_year where year = 2025")


@pytest.mark.slow
def test_city_counts_rate_gap_and_on_track_against_the_all_target(five_covered):
    five_covered.set_targets(2025, {"ALL": 0.2, "C": 0.5})
    five_covered.build()
    row = city_2025(five_covered)
    assert (row["workforce"], row["covered"]) == (30, 5)
    assert (row["covered_formal"], row["covered_informal"], row["covered_vulnerable"]) == (3, 1, 1)
    assert row["coverage_rate"] == pytest.approx(5 / 30)
    assert row["target_rate"] == 0.2  # the ALL target, not a sector's
    assert row["gap_workers"] == 1  # ceil(0.2 x 30) - 5
    assert row["on_track"] is False


@pytest.mark.slow
def test_on_track_when_coverage_reaches_the_target_and_the_gap_is_never_negative(five_covered):
    five_covered.set_targets(2025, {"ALL": 0.1})
    five_covered.build()
    row = city_2025(five_covered)
    assert row["gap_workers"] == 0  # max(0, ceil(0.1 x 30) - 5)
    assert row["on_track"] is True


@pytest.mark.slow
def test_gap_is_not_inflated_by_binary_noise_in_target_times_workforce(five_covered):
    five_covered.set_workforce(2025, {"C": (100, 60)})
    five_covered.set_targets(2025, {"ALL": 0.07})  # 0.07 x 100 = 7.000000000000001 in binary
    five_covered.build()
    assert city_2025(five_covered)["gap_workers"] == 2  # 7 - 5


@pytest.mark.slow
def test_a_year_without_target_has_null_target_gap_and_on_track(five_covered):
    five_covered.con.execute("delete from ref.targets where year = 2025")
    five_covered.build()
    row = city_2025(five_covered)
    assert (row["target_rate"], row["gap_workers"], row["on_track"]) == (None, None, None)
    assert row["coverage_rate"] == pytest.approx(5 / 30)


@pytest.mark.slow
def test_shipped_targets_start_in_2025_so_earlier_years_have_none(five_covered):
    five_covered.build()
    rows = five_covered.rows("select year, target_rate from mart.coverage_city_year order by year")
    assert rows == [{"year": year, "target_rate": None} for year in range(2020, 2025)] + [
        {"year": 2025, "target_rate": 0.32}
    ]
