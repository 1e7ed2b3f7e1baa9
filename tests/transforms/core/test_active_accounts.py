"""Activeness on a reference date: status <> BATAL, start_date <= d, end_date empty or > d."""

from ..conftest import account, kpj, nik

AS_OF = "2025-06-30"


def covered_on_as_of(pipeline) -> int:
    return pipeline.one("select covered from mart.coverage_city_year where year = 2025")["covered"]


def test_an_account_ending_on_the_reference_date_is_not_covered(pipeline):
    pipeline.deliver("enrolments", AS_OF, [account(kpj(1), nik(1), end_date=AS_OF)])
    pipeline.build()
    assert covered_on_as_of(pipeline) == 0


def test_an_account_starting_on_the_reference_date_is_covered(pipeline):
    pipeline.deliver("enrolments", AS_OF, [account(kpj(1), nik(1), start_date=AS_OF)])
    pipeline.build()
    assert covered_on_as_of(pipeline) == 1


def test_an_account_ending_the_day_after_a_reference_date_is_covered_on_it(pipeline):
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), start_date="2023-06-01", end_date="2025-01-01"),
    ])
    pipeline.build()
    rows = pipeline.rows("select year, covered from mart.coverage_city_year where year >= 2022 order by year")
    # ref(2022) = 2022-12-31 (not started), ref(2023) and ref(2024) = 2024-12-31 (ends the day
    # after: active), ref(2025) = as_of (ended)
    assert rows == [
        {"year": 2022, "covered": 0},
        {"year": 2023, "covered": 1},
        {"year": 2024, "covered": 1},
        {"year": 2025, "covered": 0},
    ]


def test_a_batal_account_is_never_active(pipeline):
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), status="BATAL", start_date="2020-01-01"),
        account(kpj(2), nik(2), status="BATAL", start_date="2020-01-01", end_date="2030-01-01"),
    ])
    pipeline.build()
    assert pipeline.rows("select sum(covered) as total from mart.coverage_city_year") == [{"total": 0}]
