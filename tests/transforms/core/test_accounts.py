"""Current versions of accounts and employers, and the sector an account resolves to."""

import pytest

from ..conftest import account, employer, kpj, nik


def sector_counts(pipeline, year: int = 2025) -> dict[str, int]:
    """Covered persons per sector on ref(year), sectors with nobody left out."""
    rows = pipeline.rows(
        "select sector, covered from mart.coverage_sector_year where year = ? and covered > 0", [year]
    )
    return {row["sector"]: row["covered"] for row in rows}


def covered(pipeline, year: int = 2025) -> int:
    return pipeline.one("select covered from mart.coverage_city_year where year = ?", [year])["covered"]


@pytest.mark.slow
def test_a_stale_resend_with_an_older_updated_at_in_a_later_extract_does_not_win(pipeline):
    pipeline.deliver("employers", "2025-05-31", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-05-31", [
        account(kpj(1), nik(1), end_date="2025-05-01", updated_at="2025-05-02 09:00:00"),
    ])
    # the next extract re-sends the account's older, still-open version
    pipeline.deliver("enrolments", "2025-06-30", [
        account(kpj(1), nik(1), updated_at="2025-01-10 09:00:00"),
    ])
    pipeline.build()
    assert covered(pipeline) == 0  # the account ended on 2025-05-01 and stays ended
    current = pipeline.one("select end_date, extract_date from core.accounts")
    assert str(current["end_date"]) == "2025-05-01"
    assert str(current["extract_date"]) == "2025-05-31"


@pytest.mark.slow
def test_on_a_tie_of_updated_at_the_later_extract_wins(pipeline):
    same_moment = "2025-05-20 10:00:00"
    pipeline.deliver("enrolments", "2025-05-31", [account(kpj(1), nik(1), updated_at=same_moment)])
    pipeline.deliver("enrolments", "2025-06-30", [
        account(kpj(1), nik(1), end_date="2025-05-20", updated_at=same_moment),
    ])
    pipeline.build()
    assert covered(pipeline) == 0
    assert str(pipeline.one("select extract_date from core.accounts")["extract_date"]) == "2025-06-30"


@pytest.mark.slow
def test_load_order_does_not_change_the_current_version(pipeline):
    # the later extract is loaded first (a backfill in reverse); the result is the same
    pipeline.deliver("enrolments", "2025-06-30", [
        account(kpj(1), nik(1), end_date="2025-06-01", updated_at="2025-06-02 09:00:00"),
    ])
    pipeline.deliver("enrolments", "2025-05-31", [account(kpj(1), nik(1))])
    pipeline.build()
    assert covered(pipeline) == 0
    assert covered(pipeline, 2024) == 1  # active since 2024-01-01 until 2025-06-01


@pytest.mark.slow
def test_a_late_employer_resolves_the_sector_once_it_lands(pipeline):
    # account names npp 10000009 with its own kbli 56101 (I); a second account has no kbli
    pipeline.deliver("enrolments", "2025-05-31", [
        account(kpj(1), nik(1), npp="10000009", kbli="56101"),
        account(kpj(2), nik(2), npp="10000008"),
    ])
    pipeline.build()
    assert sector_counts(pipeline) == {"I": 1, "X": 1}

    pipeline.deliver("employers", "2025-06-30", [
        employer("10000009", kbli="85111"),  # P: education
        employer("10000008", kbli="41011"),  # F: construction
    ])
    pipeline.build()
    assert sector_counts(pipeline) == {"P": 1, "F": 1}
    assert pipeline.one(
        "select count(*) as n from mart.coverage_sector_year where sector = 'X'"
    )["n"] == 0


@pytest.mark.slow
def test_an_employer_changing_sector_moves_its_workers_in_every_year(pipeline):
    pipeline.deliver("employers", "2024-06-30", [employer("10000001", kbli="10110")])  # C
    pipeline.deliver("enrolments", "2024-06-30", [account(kpj(1), nik(1), start_date="2023-03-01")])
    pipeline.deliver("employers", "2025-06-30", [employer("10000001", kbli="62010")])  # J
    pipeline.build()
    # the employer's current version decides, also for earlier reference dates
    assert sector_counts(pipeline, 2023) == {"J": 1}
    assert sector_counts(pipeline, 2025) == {"J": 1}


@pytest.mark.slow
def test_a_bpu_account_takes_its_own_kbli_even_with_an_employer_of_the_same_npp(pipeline):
    pipeline.deliver("employers", "2025-06-30", [employer("10000001", kbli="10110")])
    pipeline.deliver("enrolments", "2025-06-30", [account(kpj(1), nik(1), "BPU", kbli="96021")])  # S
    pipeline.build()
    assert sector_counts(pipeline) == {"S": 1}
