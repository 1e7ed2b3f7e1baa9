"""One slice path for every size: files cut into parts (as for many workers) give exactly
what one slice gives, with the real GX suite."""

import tempfile

import pytest

from cakupan.ingest.audit import LOADED, REJECTED
from cakupan.ingest.extracts import SPEC_COLUMNS
from cakupan.warehouse.connection import connect

SLICED = "enrolments_20250102.csv"  # the file with every kind of trouble
TRIPS = "enrolments_20250103.csv"  # 16 bad rows of 300: past 5% of the file, ~3 per slice
HOLDS = "enrolments_20250104.csv"  # 14 bad rows of 300: under 5% of the file
NAMES = [SLICED, TRIPS, HOLDS]


@pytest.fixture
def troubled_landing(tmp_landing, write_extract, enrolment):
    rows = [enrolment(n) for n in range(1, 301)]
    rows[10] = enrolment(11, nik="123")  # nik_format
    rows[20] = enrolment(21, segment="XX", kpj="")  # kpj_required and more
    rows[60] = list(enrolment(61).values())[:5]  # field_count
    rows[70] = []  # a blank line: field_count too, and it shifts the row numbers after it
    # Conflicting copies far apart, across any cut at a multiple of 50 rows.
    rows[48] = enrolment(49)
    rows[151] = enrolment(49, wage="1")
    rows[249] = enrolment(49, wage="2")
    # Identical copies, collapsed; one of a set that also has a differing copy.
    rows[98] = enrolment(99)
    rows[101] = enrolment(99)
    rows[120] = enrolment(121)
    rows[201] = enrolment(121)
    rows[202] = enrolment(121, status="BATAL")
    # Identical rows without a key collapse too; the kept one is quarantined.
    rows[130] = enrolment(131, kpj="")
    rows[230] = enrolment(131, kpj="")
    write_extract(SLICED, rows)

    def with_bad_nik(bad):
        return [enrolment(n, nik="12") if n % 18 == 0 and n <= 18 * bad else enrolment(n) for n in range(1, 301)]

    write_extract(TRIPS, with_bad_nik(16))
    header = list(reversed(SPEC_COLUMNS["enrolments"]))  # a second header: a second read_csv
    write_extract(HOLDS, with_bad_nik(14), header=header)
    return tmp_landing


def ingested(ingest, warehouse, landing, key, **plan_options):
    outcomes = ingest(landing, warehouse, NAMES, key, **plan_options)
    with connect(warehouse) as con:
        tables = {
            "quarantine": con.execute("select * from audit.quarantine order by all").fetchall(),
            "raw": con.execute("select * from raw.enrolments order by all").fetchall(),
            "audit": con.execute(
                "select * exclude (processed_at) from audit.extract_files order by all"
            ).fetchall(),
            "left_over": con.execute(
                "select table_name from duckdb_tables() where temporary or database_name like '_cakupan%' "
                "union all select database_name from duckdb_databases() where database_name like '_cakupan%'"
            ).fetchall(),
        }
    return outcomes, tables


@pytest.mark.slow
def test_parts_give_what_one_slice_gives(ingest, tmp_path, troubled_landing, pii_key, monkeypatch):
    whole, expected = ingested(ingest, tmp_path / "whole.duckdb", troubled_landing, pii_key,
                               pages=tmp_path / "whole-pages")
    raw_rows = tmp_path / "raw-rows"  # where a worker keeps the rows it reads meanwhile
    raw_rows.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(raw_rows))
    cut, got = ingested(ingest, tmp_path / "cut.duckdb", troubled_landing, pii_key,
                        pages=tmp_path / "cut-pages", parts_per_file=2, slice_bytes=1_000)

    assert [page.name for page in (tmp_path / "whole-pages").iterdir()] == [
        "enrolments_20250102-to-enrolments_20250104.html"
    ]
    cut_pages = sorted(page.name for page in (tmp_path / "cut-pages").iterdir())
    assert len(cut_pages) == 6 and all("-part-" in page for page in cut_pages)  # 3 files, 2 parts each
    assert got == expected
    assert cut == whole
    assert got["left_over"] == [] and list(raw_rows.iterdir()) == []

    by_name = cut
    assert (by_name[TRIPS].status, by_name[TRIPS].rows_quarantined) == (REJECTED, 16)
    assert (by_name[HOLDS].status, by_name[HOLDS].rows_quarantined) == (LOADED, 14)
    sliced_file = by_name[SLICED]
    assert sliced_file.status == LOADED
    assert (sliced_file.rows_read, sliced_file.rows_duplicate) == (300, 3)
    quarantined = {
        row: rules for name, _, row, rules, _ in got["quarantine"] if name == SLICED
    }
    assert {row for row, rules in quarantined.items() if "conflicting_duplicate" in rules} == {
        49, 121, 152, 203, 250
    }
    assert quarantined[61] == quarantined[71] == ["field_count"]
    assert "nik_format" in quarantined[11] and "kpj_required" in quarantined[131]
    assert 231 not in quarantined  # the collapsed copy of row 131
    assert sliced_file.rows_quarantined == len(quarantined) == 10
    loaded_rows = [row[3] for row in got["raw"] if row[0] == SLICED]
    assert len(loaded_rows) == sliced_file.rows_loaded == 300 - 3 - 10
    assert {62, 72, 300} <= set(loaded_rows) and not {61, 71, 102, 202} & set(loaded_rows)

