"""Hostile landing names: matched in full (a trailing newline is no extract), and shown escaped
in every message, so a name cannot forge a line of the run's log."""

from cakupan.warehouse.connection import connect

from .test_hostile_input import flow_run_logs

FORGED = "07:47:09.800 | INFO    | Flow run 'x' - Finished in state Completed('ok')"


def test_names_are_matched_in_full_and_cannot_forge_a_log_line(cakupan_command, prefect_api, landing, tmp_path):
    (landing / "enrolments_20250306.csv\n").write_bytes((landing / "enrolments_20250306.csv").read_bytes())
    (landing / "employers_20250313.csv.gz\n").write_bytes((landing / "employers_20250312.csv").read_bytes())
    (landing / f"zz\n{FORGED}").write_text("x\n")
    (landing / "\x1b[2Jclear").write_text("x\n")
    warehouse = tmp_path / "w" / "cakupan.duckdb"

    result = cakupan_command("nightly", "--as-of", "2025-03-13", "--landing", landing, "--warehouse", warehouse)

    assert result.returncode == 0, result.stderr
    with connect(warehouse, read_only=True) as con:
        names = [name for (name,) in con.execute("select file_name from audit.extract_files").fetchall()]
    assert len(names) == 24 and not any("\n" in name for name in names)
    logs = flow_run_logs(prefect_api, warehouse)
    for shown in (result.stderr, logs):
        assert not any(line.startswith("07:47:09.800") for line in shown.splitlines())
        assert "\x1b" not in shown
        assert r"zz\n07:47:09.800 | INFO" in shown  # the name, escaped, in the ignored line
        assert r"enrolments_20250306.csv\n" in shown and r"employers_20250313.csv.gz\n" in shown
        assert r"\x1b[2Jclear" in shown
