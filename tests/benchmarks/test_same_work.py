"""The same-work benchmark baseline (benchmarks/same_work.py) does Cakupan's work: its SQL
flags the rows GX flags, rule by rule, and its city counts over a clean landing are the floor's."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from cakupan.ingest.validate.suites import validate_rows
from cakupan.warehouse.pii import PiiKey
from tests.support import module_from_file

ROOT = Path(__file__).resolve().parents[2]


same_work = module_from_file("benchmark_same_work", ROOT / "benchmarks" / "same_work.py")
validate_cases = module_from_file("validate_cases", ROOT / "tests" / "ingest" / "test_validate.py")
baseline_test = module_from_file("baseline_test", ROOT / "tests" / "benchmarks" / "test_baseline.py")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["employers", "enrolments"])
def test_its_rules_flag_the_rows_gx_flags(kind):
    frame = validate_cases.hostile_frame(kind)
    suite = json.loads((ROOT / "expectations" / f"{kind}.json").read_text())
    con = duckdb.connect()
    con.register("hostile", frame.reset_index(names="_id"))
    flagged: dict[int, list[str]] = {}
    for expectation in suite["expectations"]:
        breaks = f"select _id, coalesce({same_work.fails(expectation)}, false) as breaks from hostile"
        for (row,) in con.execute(f"select _id from ({breaks}) where breaks").fetchall():
            flagged.setdefault(row, []).append(expectation["meta"]["rule"])

    assert {row: sorted(rules) for row, rules in flagged.items()} == validate_rows(kind, frame)


def test_its_counts_over_a_clean_landing_are_the_floors(tmp_path):
    for name, rows in baseline_test.LANDING.items():
        header = baseline_test.EMPLOYER_HEADER if name.startswith("employers_") else baseline_test.ENROLMENT_HEADER
        (tmp_path / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    floor = module_from_file("benchmark_baseline", ROOT / "benchmarks" / "baseline.py")

    def city(counts):
        # sector rows may differ: person N7's tie goes to the smaller kpj in the floor, to the
        # smaller HMAC of kpj in the same work (as in Cakupan)
        return [row for row in counts if row["scope"] == "ALL"]

    ours = same_work.counts(tmp_path, PiiKey(b"k" * 32))
    assert city(ours) == city(floor.coverage_counts(tmp_path)) and len(city(ours)) == 6
