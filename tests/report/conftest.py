"""A warehouse with hand-made marts (the spec's columns and types, small checkable numbers).

2025, the latest year (as of 31 Desember 2025):
  city: workforce 8.000, covered 1.627 (formal 1.312, informal 252, vulnerable 63),
        20,3% against a 32% target, gap 933 workers, not on track.
  sectors with people: C 650 (600/40/10), G 550 (300/200/50), P 407 (400/7/0),
        T 8 (0/5/3), X 12 (12/0/0); the other sections zero, each of workforce 200.
  districts: KLOJEN holds informal 4 and vulnerable 6 (small cells).
2024: city 7.998 / 1.490, no target; nothing below 10 by sector, two small cells by district.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from cakupan.report.writer import write_report
from cakupan.warehouse.connection import open_warehouse

SECTOR_NAMES = {
    "A": "Pertanian, Kehutanan dan Perikanan",
    "B": "Pertambangan dan Penggalian",
    "C": "Industri Pengolahan",
    "D": "Pengadaan Listrik, Gas, Uap/Air Panas dan Udara Dingin",
    "E": "Treatment Air, Treatment Air Limbah, Treatment dan Pemulihan Material Sampah, dan Aktivitas Remediasi",
    "F": "Konstruksi",
    "G": "Perdagangan Besar dan Eceran; Reparasi dan Perawatan Mobil dan Sepeda Motor",
    "H": "Pengangkutan dan Pergudangan",
    "I": "Penyediaan Akomodasi dan Penyediaan Makan Minum",
    "J": "Informasi dan Komunikasi",
    "K": "Aktivitas Keuangan dan Asuransi",
    "L": "Real Estat",
    "M": "Aktivitas Profesional, Ilmiah dan Teknis",
    "N": "Aktivitas Penyewaan dan Sewa Guna Usaha Tanpa Hak Opsi, Ketenagakerjaan, Agen Perjalanan dan Penunjang Usaha Lainnya",
    "O": "Administrasi Pemerintahan, Pertahanan dan Jaminan Sosial Wajib",
    "P": "Pendidikan",
    "Q": "Aktivitas Kesehatan Manusia dan Aktivitas Sosial",
    "R": "Kesenian, Hiburan dan Rekreasi",
    "S": "Aktivitas Jasa Lainnya",
    "T": "Aktivitas Rumah Tangga sebagai Pemberi Kerja",
    "U": "Aktivitas Badan Internasional dan Badan Ekstra Internasional Lainnya",
    "X": "Tidak diketahui",
}

CITY_DDL = """
create table mart.coverage_city_year (
    year integer, ref_date date, workforce bigint, workforce_carried_forward boolean,
    covered bigint, covered_formal bigint, covered_informal bigint, covered_vulnerable bigint,
    coverage_rate double, target_rate double, gap_workers bigint, on_track boolean)
"""
SECTOR_DDL = """
create table mart.coverage_sector_year (
    year integer, ref_date date, sector varchar, sector_name varchar,
    workforce bigint, workforce_formal bigint, workforce_carried_forward boolean,
    covered bigint, covered_formal bigint, covered_informal bigint, covered_vulnerable bigint,
    coverage_rate double, formal_coverage_rate double, target_rate double,
    gap_workers bigint, on_track boolean)
"""
DISTRICT_DDL = """
create table mart.coverage_district_year (
    year integer, ref_date date, district varchar,
    covered bigint, covered_formal bigint, covered_informal bigint, covered_vulnerable bigint)
"""
COMPLIANCE_DDL = """
create table mart.employer_compliance (
    npp varchar, name varchar, sector varchar, district varchar, size_class varchar,
    reported_workers bigint, enrolled_workers bigint, unregistered_workers bigint,
    below_umk_accounts bigint, pds_workers boolean, pds_wage boolean)
"""
MART_DDL = (CITY_DDL, SECTOR_DDL, DISTRICT_DDL, COMPLIANCE_DDL)

# year: (workforce, covered formal, informal, vulnerable, target, gap, on_track)
CITY = {
    2024: (7998, 1210, 230, 50, None, None, None),
    2025: (8000, 1312, 252, 63, 0.32, 933, False),
}
# (year, sector): (workforce, workforce_formal, formal, informal, vulnerable, gap)
PEOPLE_BY_SECTOR = {
    (2024, "C"): (1450, 1015, 550, 30, 20, None),
    (2024, "G"): (1950, 741, 280, 190, 30, None),
    (2024, "P"): (980, 833, 380, 10, 0, None),
    (2024, "T"): (290, 15, 0, 0, 0, None),
    (2025, "C"): (1500, 1050, 600, 40, 10, 0),
    (2025, "G"): (2000, 760, 300, 200, 50, 90),
    (2025, "P"): (1000, 850, 400, 7, 0, 0),
    (2025, "T"): (300, 15, 0, 5, 3, 88),
    (2025, "X"): (None, None, 12, 0, 0, None),
}
EMPTY_SECTOR = {2024: (208, 104, 0, 0, 0, None), 2025: (200, 100, 0, 0, 0, 64)}
# (year, district): (formal, informal, vulnerable)
DISTRICTS = {
    (2024, "BLIMBING"): (250, 50, 10),
    (2024, "KEDUNGKANDANG"): (220, 60, 15),
    (2024, "KLOJEN"): (450, 40, 10),
    (2024, "LOWOKWARU"): (150, 40, 8),
    (2024, "SUKUN"): (140, 40, 7),
    (2025, "BLIMBING"): (300, 60, 15),
    (2025, "KEDUNGKANDANG"): (250, 70, 20),
    (2025, "KLOJEN"): (500, 4, 6),
    (2025, "LOWOKWARU"): (130, 60, 12),
    (2025, "SUKUN"): (132, 58, 10),
}
EMPLOYERS = [
    ("35730001", "PT Sumber Makmur", "C", "KLOJEN", "BESAR", 120, 80, 40, 5, True, True),
    ("35730002", "CV Toko Sejahtera", "G", "BLIMBING", "KECIL", 25, 20, 5, 0, True, False),
    ("35730003", "PT Kopi <Arema> & Co", "G", "SUKUN", "MENENGAH", 60, 60, 0, 12, False, True),
    ("35730004", "UD Jaya", "I", "LOWOKWARU", "MIKRO", 4, 4, 0, 0, False, False),
]
TARGET_PATH = {2025: 0.32, 2026: 0.352, 2027: 0.3872, 2028: 0.42592, 2029: 0.468512, 2030: 0.5153632}
# A hashed identifier in raw.*: the report must never carry anything from there.
RAW_NIK_HMAC = "3573014506900001" + "0" * 48


def ref_date(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def sector_rows(year: int):
    letters = [*"ABCDEFGHIJKLMNOPQRSTU", *(["X"] if (year, "X") in PEOPLE_BY_SECTOR else [])]
    target = CITY[year][4]
    for sector in letters:
        workforce, formal_workforce, formal, informal, vulnerable, gap = PEOPLE_BY_SECTOR.get(
            (year, sector), (0, 0, 0, 0, 0, 0 if target else None) if sector == "U" else EMPTY_SECTOR[year]
        )
        covered = formal + informal + vulnerable
        rate = covered / workforce if workforce else None
        formal_rate = formal / formal_workforce if formal_workforce else None
        sector_target = target if sector != "X" else None
        on_track = None if rate is None or sector_target is None else rate >= sector_target
        yield (year, ref_date(year), sector, SECTOR_NAMES[sector], workforce, formal_workforce,
               False if workforce is not None else None, covered, formal, informal, vulnerable,
               rate, formal_rate, sector_target, gap if sector_target is not None else None, on_track)


def create_marts(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in MART_DDL:
        con.execute(ddl)
    for year, (workforce, formal, informal, vulnerable, target, gap, on_track) in CITY.items():
        covered = formal + informal + vulnerable
        con.execute(
            "insert into mart.coverage_city_year values (?, ?, ?, false, ?, ?, ?, ?, ?, ?, ?, ?)",
            [year, ref_date(year), workforce, covered, formal, informal, vulnerable,
             covered / workforce, target, gap, on_track],
        )
        con.executemany(
            "insert into mart.coverage_sector_year values (" + ", ".join("?" * 16) + ")",
            list(sector_rows(year)),
        )
    con.executemany(
        "insert into mart.coverage_district_year values (?, ?, ?, ?, ?, ?, ?)",
        [[year, ref_date(year), district, sum(counts), *counts]
         for (year, district), counts in DISTRICTS.items()],
    )
    con.executemany(
        "insert into mart.employer_compliance values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", EMPLOYERS
    )
    con.execute("create table ref.targets (year integer, sector varchar, target_rate double)")
    con.executemany("insert into ref.targets values (?, 'ALL', ?)", list(TARGET_PATH.items()))


def open_warehouse_with_marts(path: Path) -> duckdb.DuckDBPyConnection:
    con = open_warehouse(path)
    create_marts(con)
    con.execute(
        "insert into raw.enrolments values ('enrolments_20251231.csv', 'abc', date '2025-12-31', 1,"
        " ?, ?, '35730001', 'PU', null, 'KLOJEN', 'JKK|JKM', 4000000, 'EMPLOYER',"
        " date '2020-01-01', null, 'AKTIF', timestamp '2025-12-31 08:00:00')",
        [RAW_NIK_HMAC, RAW_NIK_HMAC],
    )
    return con


@pytest.fixture
def marts(tmp_path: Path):
    """An open connection to a temporary warehouse holding the hand-made marts."""
    con = open_warehouse_with_marts(tmp_path / "cakupan.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="session")
def written_report(tmp_path_factory):
    """(connection, ReportFiles) of the hand-made marts, written once for the tests that only read."""
    folder = tmp_path_factory.mktemp("written_report")
    con = open_warehouse_with_marts(folder / "cakupan.duckdb")
    files = write_report(con, folder / "report")
    yield con, files
    con.close()


@pytest.fixture
def empty_warehouse(tmp_path: Path):
    """A warehouse before the first load: schema only, no mart tables."""
    con = open_warehouse(tmp_path / "empty.duckdb")
    yield con
    con.close()
