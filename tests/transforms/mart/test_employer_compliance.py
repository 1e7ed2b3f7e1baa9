"""The inspectors' work list: AKTIF employers, enrolled, unregistered and below-UMK workers."""

import pytest

from ..conftest import account, employer, kpj, nik

AS_OF = "2025-06-30"  # UMK 2025: Rp 3,507,693


def compliance(pipeline) -> dict[str, dict]:
    return {row["npp"]: row for row in pipeline.rows("select * from mart.employer_compliance")}


@pytest.mark.slow
def test_enrolled_unregistered_and_below_umk_per_aktif_employer(pipeline):
    pipeline.deliver("employers", "2025-05-31", [employer("10000003")])
    pipeline.deliver("employers", AS_OF, [
        employer("10000001", reported_workers=5, kbli="10110", district="BLIMBING", size_class="BESAR"),
        employer("10000002", reported_workers=1),
        employer("10000003", status="TUTUP"),  # its current version is closed: not listed
        employer("10000004", reported_workers=7, status="AKTIF"),
        employer("10000005", status="NONAKTIF"),
    ])
    pipeline.deliver("enrolments", AS_OF, [
        account(kpj(1), nik(1), npp="10000001", wage=3_000_000),        # below UMK
        account(kpj(2), nik(1), npp="10000001", wage=4_000_000),        # same person again
        account(kpj(3), nik(2), "JAKON", npp="10000001", wage=3_507_693),  # exactly UMK: not below
        account(kpj(4), nik(3), npp="10000001", end_date="2025-03-01"),  # ended: not enrolled
        account(kpj(5), nik(4), npp="10000001", status="BATAL"),
        account(kpj(6), nik(5), npp="10000002"),
        account(kpj(7), nik(6), npp="10000002"),
        account(kpj(8), nik(7), npp="10000003"),
        account(kpj(9), nik(8), "BPU"),
    ])
    pipeline.build()
    rows = compliance(pipeline)
    assert list(rows) == ["10000001", "10000002", "10000004"]
    assert rows["10000001"] == {
        "npp": "10000001", "name": "PT Contoh 10000001", "sector": "C", "district": "BLIMBING",
        "size_class": "BESAR", "reported_workers": 5, "enrolled_workers": 2, "unregistered_workers": 3,
        "below_umk_accounts": 1, "pds_workers": True, "pds_wage": True,
    }
    second = rows["10000002"]
    assert (second["enrolled_workers"], second["unregistered_workers"], second["pds_workers"]) == (2, 0, False)
    assert (second["below_umk_accounts"], second["pds_wage"]) == (0, False)
    fourth = rows["10000004"]
    assert (fourth["enrolled_workers"], fourth["unregistered_workers"], fourth["below_umk_accounts"]) == (0, 7, 0)


@pytest.mark.slow
def test_wages_are_compared_with_the_umk_of_the_year_of_as_of(pipeline):
    pipeline.deliver("employers", "2026-01-15", [employer("10000001")])
    pipeline.deliver("enrolments", "2026-01-15", [account(kpj(1), nik(1), wage=3_600_000)])
    pipeline.build()
    # 3,600,000 is above UMK 2025 (3,507,693) but below UMK 2026 (3,736,101)
    assert compliance(pipeline)["10000001"]["below_umk_accounts"] == 1


@pytest.mark.slow
def test_without_a_umk_for_the_year_below_umk_is_unknown(pipeline):
    pipeline.con.execute("delete from ref.umk where year = 2025")
    pipeline.deliver("employers", AS_OF, [employer("10000001")])
    pipeline.deliver("enrolments", AS_OF, [account(kpj(1), nik(1), wage=1_000_000)])
    pipeline.build()
    row = compliance(pipeline)["10000001"]
    assert (row["enrolled_workers"], row["below_umk_accounts"], row["pds_wage"]) == (1, None, None)
