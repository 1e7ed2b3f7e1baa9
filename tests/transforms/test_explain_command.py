"""`cakupan explain` on a warehouse built from hand-built landings: the real command in a
subprocess, its CSV, JSON and terminal table, and its usage errors."""

import csv
import io
import json
import pytest

from .conftest import account, employer, kpj, nik

HEADER = "level,key,measure,p0,corrected,late,backdated,new_period,p1"


@pytest.fixture
def explain_command(embedded_command):
    """explain_command(warehouse, *options): the real `cakupan explain` of that warehouse."""

    def run(warehouse, *args):
        return embedded_command("explain", "--warehouse", warehouse, *args)

    return run


@pytest.fixture
def corrected_warehouse(pipeline, warehouse):
    """p0 (as of 2025-03-01), then p1 (as of 2025-03-02): a re-delivery voided one 2024 account."""
    pipeline.deliver("employers", "2025-03-01", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2))])
    pipeline.publish("p0")
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2), status="BATAL")])
    pipeline.deliver("enrolments", "2025-03-02", [account(kpj(3), nik(3), "BPU", start_date="2025-03-02")])
    pipeline.publish("p1")
    pipeline.con.close()  # the command is another process: the writer lets go of the file
    return warehouse


def test_csv_has_the_header_and_one_adding_row_per_level_key_and_measure(explain_command, corrected_warehouse):
    result = explain_command(corrected_warehouse, "--year", "2024", "--from", "p0", "--to", "p1", "--format", "csv")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == (1 + 21 + 5) * 4  # city, A..U, five districts; four counts each
    for row in rows:
        effects = sum(int(row[e]) for e in ("corrected", "late", "backdated", "new_period"))
        assert int(row["p0"]) + effects == int(row["p1"]), row
    assert "city,,covered,2,-1,0,0,0,1" in lines
    assert "sector,C,covered_formal,2,-1,0,0,0,1" in lines
    assert "district,KLOJEN,covered,2,-1,0,0,0,1" in lines


def test_defaults_are_the_latest_publication_and_the_previous_with_another_as_of(explain_command, corrected_warehouse):
    result = explain_command(corrected_warehouse, "--year", "2024", "--by", "city", "--format", "csv")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        HEADER,
        "city,,covered,2,-1,0,0,0,1",
        "city,,covered_formal,2,-1,0,0,0,1",
        "city,,covered_informal,0,0,0,0,0,0",
        "city,,covered_vulnerable,0,0,0,0,0,0",
    ]


def test_json_names_the_files_behind_each_effect(explain_command, corrected_warehouse):
    result = explain_command(corrected_warehouse, "--year", "2025", "--from", "2025-03-01", "--format", "json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["p0"]["run_id"], document["p1"]["run_id"]) == ("p0", "p1")
    assert (document["p0"]["ref_date"], document["p1"]["ref_date"]) == ("2025-03-01", "2025-03-02")
    city = next(r for r in document["rows"] if (r["level"], r["measure"]) == ("city", "covered"))
    assert city == {"level": "city", "key": "", "measure": "covered", "p0": 2, "corrected": -1, "late": 0,
                    "backdated": 0, "new_period": 1, "p1": 2}
    assert [(f["effect"], f["file_name"], f["versions"], f["replaced_versions"]) for f in document["files"]] == [
        ("corrected", "enrolments_20250301.csv", 2, 2),
        ("backdated", "enrolments_20250302.csv", 1, None),
    ]
    assert document["unknown"] is None and document["problems"] == []


def test_the_terminal_table_shows_the_bridge_then_the_files(explain_command, corrected_warehouse):
    result = explain_command(corrected_warehouse, "--year", "2024", "--by", "city")

    assert result.returncode == 0, result.stderr
    bridge_at, files_at = result.stdout.index("corrected"), result.stdout.index("Files behind each effect")
    assert bridge_at < files_at
    assert "re-delivered" in result.stdout[files_at:] and "enrolments_20250301.csv" in result.stdout[files_at:]
    assert "2 (was 2)" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--from", "nope"], "no publication has run id 'nope'"),
    (["--to", "2020-01-01"], "nothing was published as of 2020-01-01 or before"),
    (["--from", "p1", "--to", "p0"], "publication p1 is later than p0"),
    (["--year", "1999"], "year 1999 was published neither by p0"),
    (["--by", "province"], "'province' is not one of city, sector, district"),
    (["--format", "xml"], "'xml' is not one of table, csv, json"),
])
def test_a_publication_or_option_that_does_not_exist_is_a_usage_error_in_one_line(explain_command, corrected_warehouse, args, message):
    if "--year" not in args:
        args = ["--year", "2024", *args]
    result = explain_command(corrected_warehouse, *args)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.replace("│", " ").split())
