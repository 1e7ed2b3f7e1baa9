"""The flows publish into history.*: nightlies and backfills append; mart.* equals the latest."""

import re
from datetime import date

import pytest

from cakupan.flows.backfill import backfill
from cakupan.flows.nightly import nightly
from cakupan.warehouse.connection import connect
from cakupan.warehouse.publications import HISTORY_TABLES


def marts(warehouse) -> dict[str, list[tuple]]:
    with connect(warehouse, read_only=True) as con:
        return {t: con.execute(f"select * from mart.{t} order by all").fetchall() for t in HISTORY_TABLES}


def history_of(warehouse, run_id) -> dict[str, list[tuple]]:
    with connect(warehouse, read_only=True) as con:
        return {
            t: con.execute(f"select * exclude (run_id) from history.{t} where run_id = ? order by all",
                           [run_id]).fetchall()
            for t in HISTORY_TABLES
        }


def publications(warehouse) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "select run_id, flow, as_of, files_loaded, files_rejected, changed from history.publications"
            " order by published_at"
        ).fetchall()


def test_three_nightlies_and_a_backfill_each_append_a_publication(
    prefect_api, pii_key, tmp_landing, write_extract, employer, enrolment, tmp_path
):
    warehouse = str(tmp_path / "w.duckdb")
    write_extract("employers_20250301.csv", [employer(1)])
    write_extract("enrolments_20250301.csv", [enrolment(1)])
    snapshots, run_ids = [], []
    for day, new_rows in ((1, []), (2, [enrolment(2)]), (3, [enrolment(3, district="SUKUN")])):
        if new_rows:
            write_extract(f"enrolments_2025030{day}.csv", new_rows)
        state = nightly(as_of=date(2025, 3, day), landing=str(tmp_landing), warehouse=warehouse, return_state=True)
        assert state.is_completed(), state.message
        run_ids.append(str(state.state_details.flow_run_id))
        snapshots.append(marts(warehouse))

    for run_id, snapshot in zip(run_ids, snapshots):
        assert history_of(warehouse, run_id) == snapshot
    assert publications(warehouse) == [
        (run_ids[0], "nightly", date(2025, 3, 1), 2, 0, True),
        (run_ids[1], "nightly", date(2025, 3, 2), 1, 0, True),
        (run_ids[2], "nightly", date(2025, 3, 3), 1, 0, True),
    ]

    state = backfill(start=date(2025, 3, 1), end=date(2025, 3, 3), landing=str(tmp_landing), warehouse=warehouse,
                     return_state=True)
    assert state.is_completed(), state.message
    backfill_id = str(state.state_details.flow_run_id)
    assert publications(warehouse)[-1] == (backfill_id, "backfill", date(2025, 3, 3), 4, 0, False)
    assert history_of(warehouse, backfill_id) == marts(warehouse) == snapshots[-1]
    for run_id, snapshot in zip(run_ids, snapshots):  # nothing earlier was touched
        assert history_of(warehouse, run_id) == snapshot
    with connect(warehouse, read_only=True) as con:  # freshness is a nightly's business
        assert con.execute("select flow, freshness from audit.runs order by started_at").fetchall() == [
            ("nightly", "fresh"), ("nightly", "fresh"),
            ("nightly", "late"),  # no employers extract since 03-01
            ("backfill", None),
        ]


HEADLINE_VALUE = re.compile(r'<div class="value">(.*?)</div>')
EXPORTS = [f"{table}.csv" for table in HISTORY_TABLES]


@pytest.fixture
def report_command(embedded_command):
    """The real `cakupan report` with these options."""
    return lambda *args: embedded_command("report", *args)


def test_report_as_of_reproduces_the_report_written_that_night(
    prefect_api, report_command, pii_key, tmp_landing, write_extract, employer, enrolment, tmp_path
):
    warehouse, report = tmp_path / "w.duckdb", tmp_path / "report"
    write_extract("employers_20250301.csv", [employer(1)])
    write_extract("enrolments_20250301.csv", [enrolment(1), enrolment(2, segment="BPU", npp="", kbli="47111",
                                                                        programs="JKK|JKM", contribution_source="SELF")])
    assert nightly(as_of=date(2025, 3, 1), landing=str(tmp_landing), warehouse=str(warehouse),
                   return_state=True).is_completed()
    that_night = {name: (report / name).read_text() for name in ["index.html", *EXPORTS]}
    write_extract("employers_20250302.csv", [])
    write_extract("enrolments_20250302.csv", [enrolment(3, district="SUKUN"), enrolment(4)])
    assert nightly(as_of=date(2025, 3, 2), landing=str(tmp_landing), warehouse=str(warehouse),
                   return_state=True).is_completed()
    assert (report / "coverage_city_year.csv").read_text() != that_night["coverage_city_year.csv"]

    result = report_command("--as-of", "2025-03-01", "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    earlier = report / "as-of-2025-03-01"
    for name in EXPORTS:  # the very figures published that night, cell for cell
        assert (earlier / name).read_text() == that_night[name], name
    page = (earlier / "index.html").read_text()
    assert HEADLINE_VALUE.findall(page) == HEADLINE_VALUE.findall(that_night["index.html"])
    assert "keadaan per 1 Maret 2025" in page
    assert not (earlier / "employer_compliance.csv").exists()  # the work list has no history

    later = report_command("--as-of", "2026-01-01", "--warehouse", str(warehouse), "--out", str(tmp_path / "x"))
    assert later.returncode == 0, later.stderr
    assert (tmp_path / "x" / "coverage_city_year.csv").read_text() == (report / "coverage_city_year.csv").read_text()

    before = report_command("--as-of", "2025-02-28", "--warehouse", str(warehouse))
    assert before.returncode == 2
    assert "Traceback" not in before.stderr
    assert "nothing was published as of 2025-02-28 or before (the first publication is as of 2025-03-01)" in " ".join(
        before.stderr.split())
