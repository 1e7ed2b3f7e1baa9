import pandas as pd
import pyarrow as pa
import pytest

from cakupan.report.data import read_published, read_sector_names_en, read_target_path


def test_city_table_is_published_exactly(marts):
    city = read_published(marts)["coverage_city_year"]

    exact = marts.sql("select * from mart.coverage_city_year order by year").to_arrow_table()
    assert city.to_arrow().equals(exact)


def test_sector_and_district_tables_are_suppressed_with_flags(marts):
    published = read_published(marts)
    sectors = published["coverage_sector_year"].frame.set_index(["year", "sector"])
    districts = published["coverage_district_year"].frame.set_index(["year", "district"])

    assert pd.isna(sectors.at[(2025, "P"), "covered_informal"])
    assert sectors.at[(2025, "P"), "covered_informal_suppressed"]
    assert pd.isna(sectors.at[(2025, "P"), "formal_coverage_rate"])  # its formal count is a complement
    assert pd.isna(sectors.at[(2025, "T"), "gap_workers"]) and pd.isna(sectors.at[(2025, "T"), "on_track"])
    assert sectors.at[(2024, "P"), "covered_informal"] == 10
    assert pd.isna(districts.at[(2025, "KLOJEN"), "covered_vulnerable"])
    assert districts.at[(2025, "KLOJEN"), "covered"] == 510
    # the warehouse keeps the exact count
    assert marts.sql(
        "select covered_informal from mart.coverage_sector_year where year = 2025 and sector = 'P'"
    ).fetchall() == [(7,)]


def test_export_schema_keeps_mart_types_and_adds_flags(marts):
    sectors = read_published(marts)["coverage_sector_year"]

    assert sectors.schema.field("year").type == pa.int32()
    assert sectors.schema.field("covered").type == pa.int64()
    assert sectors.schema.field("on_track").type == pa.bool_()
    assert sectors.schema.names[-4:] == [
        "covered_suppressed", "covered_formal_suppressed",
        "covered_informal_suppressed", "covered_vulnerable_suppressed",
    ]


def test_missing_tables_are_left_out(empty_warehouse):
    assert read_published(empty_warehouse) == {}
    assert read_target_path(empty_warehouse).empty
    assert read_sector_names_en(empty_warehouse) == {}


def test_target_path_is_the_city_target_per_year(marts):
    path = read_target_path(marts)

    assert path["year"].tolist() == [2025, 2026, 2027, 2028, 2029, 2030]
    assert path["target_rate"].tolist()[:2] == [0.32, 0.352]


def test_a_mart_without_a_spec_column_is_named_in_the_error(marts):
    marts.execute("alter table mart.coverage_district_year drop column covered_vulnerable")

    with pytest.raises(KeyError, match="mart.coverage_district_year.*covered_vulnerable"):
        read_published(marts)
