"""A covered person counts once, in the category, sector and district of the primary account."""

import pytest

from ..conftest import account, employer, hashed, kpj, nik

AS_OF = "2025-06-30"


def city(pipeline) -> dict:
    return pipeline.one(
        "select covered, covered_formal, covered_informal, covered_vulnerable "
        "from mart.coverage_city_year where year = 2025"
    )


def sectors(pipeline) -> dict[str, int]:
    rows = pipeline.rows(
        "select sector, covered from mart.coverage_sector_year where year = 2025 and covered > 0"
    )
    return {row["sector"]: row["covered"] for row in rows}


@pytest.mark.slow
def test_a_person_with_pu_and_bpu_accounts_counts_once_as_formal(pipeline):
    pipeline.deliver("employers", AS_OF, [employer("10000001", kbli="10110")])  # C
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), "BPU", kbli="47111", start_date="2025-01-01"),  # G, newer
        account(kpj(2), nik(1), "PU", start_date="2023-01-01"),
    ])
    pipeline.build()
    assert city(pipeline) == {"covered": 1, "covered_formal": 1, "covered_informal": 0, "covered_vulnerable": 0}
    assert sectors(pipeline) == {"C": 1}


@pytest.mark.slow
def test_of_two_pu_accounts_the_latest_start_wins(pipeline):
    pipeline.deliver("employers", AS_OF, [employer("10000001", kbli="10110"), employer("10000002", kbli="62010")])
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), npp="10000001", start_date="2022-01-01", district="SUKUN"),
        account(kpj(2), nik(1), npp="10000002", start_date="2024-07-01", district="BLIMBING"),
    ])
    pipeline.build()
    assert sectors(pipeline) == {"J": 1}
    districts = pipeline.rows(
        "select district from mart.coverage_district_year where year = 2025 and covered > 0"
    )
    assert districts == [{"district": "BLIMBING"}]
    # on ref(2023) only the first had started
    assert pipeline.rows(
        "select sector from mart.coverage_sector_year where year = 2023 and covered > 0"
    ) == [{"sector": "C"}]


def test_of_two_pu_accounts_starting_the_same_day_the_smallest_kpj_wins(pipeline):
    pipeline.deliver("employers", AS_OF, [employer("10000001", kbli="10110"), employer("10000002", kbli="62010")])
    first, second = kpj(1), kpj(2)
    pipeline.deliver("enrolments", AS_OF, [
        account(first, nik(1), npp="10000001"),
        account(second, nik(1), npp="10000002"),
    ])
    pipeline.build()
    # kpj exists only as its HMAC: the smallest HMAC (hex text) is the winner
    winner_sector = {first: "C", second: "J"}[min(first, second, key=hashed)]
    assert sectors(pipeline) == {winner_sector: 1}


def test_jakon_outranks_a_newer_bpu(pipeline):
    pipeline.deliver("employers", AS_OF, [employer("10000001", kbli="41011")])  # F
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), "BPU", kbli="56101", start_date="2025-03-01"),
        account(kpj(2), nik(1), "JAKON", start_date="2024-02-01"),
    ])
    pipeline.build()
    assert city(pipeline) == {"covered": 1, "covered_formal": 1, "covered_informal": 0, "covered_vulnerable": 0}
    assert sectors(pipeline) == {"F": 1}


def test_bpu_paid_by_apbd_is_vulnerable_and_other_bpu_informal(pipeline):
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), "BPU", contribution_source="APBD"),
        account(kpj(2), nik(2), "BPU", contribution_source="SELF"),
        account(kpj(3), nik(3), "BPU", contribution_source="APBD"),
    ])
    pipeline.build()
    assert city(pipeline) == {"covered": 3, "covered_formal": 0, "covered_informal": 1, "covered_vulnerable": 2}


@pytest.mark.slow
def test_when_the_primary_account_ends_the_next_one_takes_over(pipeline):
    pipeline.deliver("employers", AS_OF, [employer("10000001", kbli="10110")])
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), "PU", start_date="2022-01-01", end_date="2025-03-31"),
        account(kpj(2), nik(1), "BPU", kbli="47111", start_date="2021-01-01", contribution_source="APBD"),
    ])
    pipeline.build()
    rows = pipeline.rows(
        "select year, covered, covered_formal, covered_vulnerable from mart.coverage_city_year "
        "where year >= 2021 order by year"
    )
    assert rows == [
        {"year": 2021, "covered": 1, "covered_formal": 0, "covered_vulnerable": 1},
        {"year": 2022, "covered": 1, "covered_formal": 1, "covered_vulnerable": 0},
        {"year": 2023, "covered": 1, "covered_formal": 1, "covered_vulnerable": 0},
        {"year": 2024, "covered": 1, "covered_formal": 1, "covered_vulnerable": 0},
        {"year": 2025, "covered": 1, "covered_formal": 0, "covered_vulnerable": 1},
    ]
