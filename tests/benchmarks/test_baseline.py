"""The benchmark baseline (benchmarks/baseline.sql) counts by the published definitions:
a hand-made landing whose every person tests one rule, with the counts worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import module_from_file

BASELINE_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "baseline.py"

EMPLOYER_HEADER = "npp,name,kbli,district,size_class,reported_workers,registered_on,status,updated_at"
ENROLMENT_HEADER = (
    "kpj,nik,npp,segment,kbli,district,programs,wage,contribution_source,start_date,end_date,status,updated_at"
)
N = {person: f"35730101018000{person:02d}" for person in range(1, 10)}

LANDING = {
    "employers_20250101.csv": [
        "10000001,PT SATU,47111,KLOJEN,KECIL,10,2010-01-01,AKTIF,2010-01-01 08:00:00",
        "10000002,PT DUA,10101,SUKUN,KECIL,10,2010-01-01,AKTIF,2010-01-01 08:00:00",
        "10000003,PT TIGA,62010,SUKUN,KECIL,10,2010-01-01,AKTIF,2010-01-01 08:00:00",
    ],
    # PT SATU's current version moves it from trade (G) to education (P)
    "employers_20250105.csv": [
        "10000001,PT SATU,85101,KLOJEN,KECIL,10,2010-01-01,AKTIF,2025-01-05 09:00:00",
    ],
    "enrolments_20250101.csv": [
        # N1: PU at PT SATU (sector P) outranks their own BPU account; counted once
        f"11111111101,{N[1]},10000001,PU,,KLOJEN,JKK|JKM|JHT,5000000,EMPLOYER,2020-01-01,,AKTIF,2020-01-01 08:00:00",
        f"11111111102,{N[1]},,BPU,01111,KLOJEN,JKK|JKM,2000000,SELF,2019-01-01,,AKTIF,2019-01-01 08:00:00",
        # N2: BPU paid by APBD (vulnerable, I), ended before ref(2025) = as_of 2025-01-10
        f"11111111103,{N[2]},,BPU,56101,SUKUN,JKK|JKM,2000000,APBD,2020-06-01,2025-01-03,NONAKTIF,2025-01-01 08:00:00",
        # N3: employer not loaded: the account's own kbli (C); N4: neither: X
        f"11111111104,{N[3]},99999999,PU,10101,SUKUN,JKK|JKM,3000000,EMPLOYER,2021-03-01,,AKTIF,2021-03-01 08:00:00",
        f"11111111105,{N[4]},99999998,JAKON,,SUKUN,JKK|JKM,3000000,EMPLOYER,2022-01-01,,AKTIF,2022-01-01 08:00:00",
        # N5: void from the start
        f"11111111106,{N[5]},10000002,PU,,SUKUN,JKK|JKM,3000000,EMPLOYER,2020-01-01,,BATAL,2020-01-02 08:00:00",
        # N6: ended on 2024-06-30 by a later version (enrolments_20250104)
        f"11111111107,{N[6]},10000002,PU,,SUKUN,JKK|JKM,3000000,EMPLOYER,2020-01-01,,AKTIF,2020-01-01 08:00:00",
        # N7: two PU accounts starting the same day: the smaller kpj (PT DUA, C) is primary
        f"11111111109,{N[7]},10000003,PU,,SUKUN,JKK|JKM,3000000,EMPLOYER,2023-05-01,,AKTIF,2023-05-01 08:00:00",
        f"11111111108,{N[7]},10000002,PU,,SUKUN,JKK|JKM,3000000,EMPLOYER,2023-05-01,,AKTIF,2023-05-01 08:00:00",
        # N9: informal (G) ending on 2023-12-31, so not active on that day
        f"11111111111,{N[9]},,BPU,47111,SUKUN,JKK|JKM,2000000,SELF,2020-01-01,2023-12-31,NONAKTIF,2024-01-01 08:00:00",
    ],
    # N8: two versions with the same updated_at: the later extract (BATAL) wins
    "enrolments_20250102.csv": [
        f"11111111110,{N[8]},,BPU,47111,SUKUN,JKK|JKM,2000000,SELF,2020-01-01,,AKTIF,2025-01-02 10:00:00",
    ],
    "enrolments_20250103.csv": [
        f"11111111110,{N[8]},,BPU,47111,SUKUN,JKK|JKM,2000000,SELF,2020-01-01,,BATAL,2025-01-02 10:00:00",
    ],
    "enrolments_20250104.csv": [
        f"11111111107,{N[6]},10000002,PU,,SUKUN,JKK|JKM,3000000,EMPLOYER,2020-01-01,2024-06-30,NONAKTIF,2024-07-01 08:00:00",
    ],
    # header only: still moves as_of to 2025-01-10
    "enrolments_20250110.csv": [],
}

# year: (covered, formal, informal, vulnerable), {sector: covered}
EXPECTED = {
    2020: ((4, 2, 1, 1), {"P": 1, "I": 1, "C": 1, "G": 1}),
    2021: ((5, 3, 1, 1), {"P": 1, "I": 1, "C": 2, "G": 1}),
    2022: ((6, 4, 1, 1), {"P": 1, "I": 1, "C": 2, "G": 1, "X": 1}),
    2023: ((6, 5, 0, 1), {"P": 1, "I": 1, "C": 3, "X": 1}),
    2024: ((5, 4, 0, 1), {"P": 1, "I": 1, "C": 2, "X": 1}),
    2025: ((4, 4, 0, 0), {"P": 1, "C": 2, "X": 1}),
}


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    for name, rows in LANDING.items():
        header = EMPLOYER_HEADER if name.startswith("employers_") else ENROLMENT_HEADER
        (landing / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return module_from_file("benchmark_baseline", BASELINE_PY).coverage_counts(landing)


def test_city_counts_per_reported_year(counts):
    city = {
        row["year"]: (row["covered"], row["covered_formal"], row["covered_informal"], row["covered_vulnerable"])
        for row in counts
        if row["scope"] == "ALL"
    }
    assert city == {year: totals for year, (totals, _) in EXPECTED.items()}


def test_reference_date_of_the_as_of_year_is_as_of(counts):
    assert {row["ref_date"] for row in counts if row["year"] == 2025} == {"2025-01-10"}


def test_sector_counts_per_reported_year(counts):
    sectors = {(row["year"], row["scope"]): row["covered"] for row in counts if row["scope"] != "ALL"}
    assert sectors == {
        (year, sector): covered for year, (_, by_sector) in EXPECTED.items() for sector, covered in by_sector.items()
    }
