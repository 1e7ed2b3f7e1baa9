"""District rows: all five per year, zero-filled, persons in their primary account's district."""

import pytest

from ..conftest import account, employer, kpj, nik

DISTRICTS = ["BLIMBING", "KEDUNGKANDANG", "KLOJEN", "LOWOKWARU", "SUKUN"]


@pytest.mark.slow
def test_every_district_is_listed_and_a_person_counts_in_the_primary_accounts_district(pipeline):
    pipeline.deliver("employers", "2025-06-30", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-06-30", [
        account(kpj(1), nik(1), district="KLOJEN"),
        account(kpj(2), nik(1), "BPU", district="SUKUN"),  # same person, not primary
        account(kpj(3), nik(2), "BPU", district="SUKUN", contribution_source="APBD"),
        account(kpj(4), nik(3), "BPU", district="SUKUN"),
    ])
    pipeline.build()
    rows = pipeline.rows(
        "select district, covered, covered_formal, covered_informal, covered_vulnerable "
        "from mart.coverage_district_year where year = 2025 order by district"
    )
    zero = {"covered": 0, "covered_formal": 0, "covered_informal": 0, "covered_vulnerable": 0}
    expected = {district: dict(zero, district=district) for district in DISTRICTS}
    expected["KLOJEN"] |= {"covered": 1, "covered_formal": 1}
    expected["SUKUN"] |= {"covered": 2, "covered_informal": 1, "covered_vulnerable": 1}
    assert rows == list(expected.values())
    years = pipeline.rows("select year, count(*) as n from mart.coverage_district_year group by year order by year")
    assert years == [{"year": year, "n": 5} for year in range(2020, 2026)]
