from fractions import Fraction

import pytest

from cakupan.config import ReferenceFiles, run_settings
from cakupan.warehouse.connection import connect
from cakupan.warehouse.reference import ReferenceError, load_reference, read_reference

# Published figures (BPS Sakernas, August), restated here as the test's own oracle.
EMPLOYED = {2020: 425_368, 2021: 435_630, 2022: 418_158, 2023: 428_699, 2024: 436_742, 2025: 459_084}
INVALID_DIVISIONS = {"00", "04", "34", "40", "44", "48", "54", "57", "67", "76", "83", "89"}


def test_workforce_sections_add_up_to_each_year_total():
    workforce = read_reference("workforce")
    totals = workforce.groupby("year")["employed"].sum().to_dict()
    assert totals == EMPLOYED
    assert set(workforce["sector"]) == set("ABCDEFGHIJKLMNOPQRSTU")
    assert (workforce.groupby("year").size() == 21).all()


def test_workforce_split_is_largest_remainder_of_the_shares():
    workforce = read_reference("workforce")
    for year, rows in workforce.groupby("year"):
        exact = {r.sector: Fraction(str(r.share_pct)) * EMPLOYED[year] / 100 for r in rows.itertuples()}
        floors = {s: int(v) for s, v in exact.items()}
        remaining = EMPLOYED[year] - sum(floors.values())
        by_remainder = sorted(exact, key=lambda s: (-(exact[s] - floors[s]), s))
        expected = {s: floors[s] + (1 if s in by_remainder[:remaining] else 0) for s in exact}
        assert dict(zip(rows["sector"], rows["employed"])) == expected


def test_formal_workforce_is_rounded_share_of_employed():
    workforce = read_reference("workforce")
    for r in workforce.itertuples():
        exact = Fraction(r.employed) * Fraction(str(r.formal_share))
        assert abs(r.employed_formal - exact) <= Fraction(1, 2)
        assert 0 <= r.employed_formal <= r.employed


def test_kbli_divisions_cover_every_existing_division_once():
    divisions = read_reference("kbli_divisions")
    assert divisions["division"].is_unique
    assert set(divisions["division"]) == {f"{d:02d}" for d in range(100)} - INVALID_DIVISIONS
    lookup = dict(zip(divisions["division"], divisions["sector"]))
    assert (lookup["01"], lookup["33"], lookup["35"], lookup["84"], lookup["99"]) == ("A", "C", "D", "O", "U")
    sectors = read_reference("sectors")
    assert set(divisions["sector"]) | {"X"} == set(sectors["sector"])


def test_districts_are_the_five_kecamatan():
    districts = read_reference("districts")
    assert sorted(districts["district"]) == ["BLIMBING", "KEDUNGKANDANG", "KLOJEN", "LOWOKWARU", "SUKUN"]
    assert districts["population_2023"].sum() == 182_851 + 93_990 + 209_375 + 196_860 + 164_106


def test_default_targets_grow_ten_percent_relative_per_year():
    targets = read_reference("targets").set_index("year")["target_rate"]
    assert targets[2025] == pytest.approx(0.32)
    for year in range(2026, 2031):
        assert targets[year] == pytest.approx(targets[year - 1] * 1.10)


def test_points_switch_selects_ten_percentage_points_per_year(monkeypatch):
    monkeypatch.setenv("CAKUPAN_TARGETS", "points")
    targets = read_reference("targets", run_settings().reference).set_index("year")["target_rate"]
    assert [round(targets[y], 6) for y in range(2025, 2031)] == [0.32, 0.42, 0.52, 0.62, 0.72, 0.82]


def test_unknown_target_reading_is_refused(monkeypatch):
    monkeypatch.setenv("CAKUPAN_TARGETS", "percent")
    with pytest.raises(ValueError, match="^CAKUPAN_TARGETS='percent': expected one of relative, points$"):
        run_settings()  # at the run's entry


def test_user_override_replaces_one_file(tmp_path, monkeypatch):
    (tmp_path / "umk.csv").write_text("year,umk\n2025,4000000\n")
    monkeypatch.setenv("CAKUPAN_REFERENCE_DIR", str(tmp_path))
    reference = run_settings().reference
    assert read_reference("umk", reference).to_dict("records") == [{"year": 2025, "umk": 4_000_000}]
    assert len(read_reference("districts", reference)) == 5  # files not overridden stay shipped


def test_override_with_wrong_columns_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "umk.csv").write_text("tahun,upah\n2025,4000000\n")
    monkeypatch.setenv("CAKUPAN_REFERENCE_DIR", str(tmp_path))
    with pytest.raises(ReferenceError, match="umk.csv"):
        read_reference("umk", run_settings().reference)


def test_load_reference_replaces_tables_in_the_warehouse(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        load_reference(con, ReferenceFiles())
        load_reference(con, ReferenceFiles())  # idempotent: replaced, not appended
        assert con.execute("select count(*) from ref.workforce").fetchone() == (126,)
        assert con.execute("select sector from ref.kbli_divisions where division = '05'").fetchone() == ("B",)
