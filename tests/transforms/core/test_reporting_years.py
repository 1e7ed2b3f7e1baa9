"""Reported years, reference dates ref(Y) = min(Y-12-31, as_of), carried-forward workforce."""

from datetime import date

from ..conftest import account, employer, kpj, nik


def city_years(pipeline) -> list[dict]:
    return pipeline.rows(
        "select year, ref_date, workforce, workforce_carried_forward from mart.coverage_city_year order by year"
    )


def test_every_workforce_year_up_to_as_of_is_reported_and_the_last_ends_on_as_of(pipeline):
    pipeline.deliver("enrolments", "2023-08-15", [account(kpj(1), nik(1), start_date="2021-01-01")])
    pipeline.build()
    # shipped workforce (BPS Sakernas): 2020 425,368; 2021 435,630; 2022 418,158; 2023 428,699
    assert city_years(pipeline) == [
        {"year": 2020, "ref_date": date(2020, 12, 31), "workforce": 425_368, "workforce_carried_forward": False},
        {"year": 2021, "ref_date": date(2021, 12, 31), "workforce": 435_630, "workforce_carried_forward": False},
        {"year": 2022, "ref_date": date(2022, 12, 31), "workforce": 418_158, "workforce_carried_forward": False},
        {"year": 2023, "ref_date": date(2023, 8, 15), "workforce": 428_699, "workforce_carried_forward": False},
    ]


def test_as_of_is_the_latest_loaded_extract_of_either_kind_and_a_header_only_file_counts(pipeline):
    pipeline.deliver("enrolments", "2024-03-01", [account(kpj(1), nik(1))])
    pipeline.deliver("employers", "2024-05-02", [])  # header only
    pipeline.build()
    assert pipeline.one("select max(ref_date) as last from mart.coverage_city_year")["last"] == date(2024, 5, 2)


def test_a_rejected_or_superseded_file_does_not_move_as_of(pipeline):
    pipeline.deliver("enrolments", "2024-03-01", [account(kpj(1), nik(1))])
    pipeline.con.execute(
        "insert into audit.extract_files values ('enrolments_20240409.csv', 'enrolments', date '2024-04-09', "
        "'x', 'REJECTED', 'header', 0, 0, 0, 0, 'test', timestamp '2024-04-09 03:00:00')"
    )
    pipeline.build()
    assert pipeline.one("select max(ref_date) as last from mart.coverage_city_year")["last"] == date(2024, 3, 1)


def test_a_year_beyond_the_workforce_table_carries_the_last_year_forward(pipeline):
    # the shipped workforce ends with 2025 (459,084)
    pipeline.deliver("employers", "2026-02-10", [employer("10000001")])
    pipeline.deliver("enrolments", "2026-02-10", [account(kpj(1), nik(1))])
    pipeline.build()
    assert city_years(pipeline)[-2:] == [
        {"year": 2025, "ref_date": date(2025, 12, 31), "workforce": 459_084, "workforce_carried_forward": False},
        {"year": 2026, "ref_date": date(2026, 2, 10), "workforce": 459_084, "workforce_carried_forward": True},
    ]
    sectors_2026 = pipeline.rows(
        "select distinct workforce_carried_forward as flag from mart.coverage_sector_year where year = 2026"
    )
    assert sectors_2026 == [{"flag": True}]


def test_a_year_without_workforce_inside_the_table_is_not_reported(pipeline):
    pipeline.con.execute("delete from ref.workforce where year = 2022")
    pipeline.deliver("enrolments", "2023-06-30", [account(kpj(1), nik(1), start_date="2021-01-01")])
    pipeline.build()
    assert [row["year"] for row in city_years(pipeline)] == [2020, 2021, 2023]
