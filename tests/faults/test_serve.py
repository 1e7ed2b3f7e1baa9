"""`cakupan serve` checks what every run will need before serving, and says what it registered."""

import time


def test_serve_refuses_to_start_blind_one_line_per_problem(cakupan_command, prefect_server, tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    result = cakupan_command("serve", "--landing", tmp_path / "absent", "--warehouse", not_a_folder / "cakupan.duckdb",
                             env={"CAKUPAN_PII_KEY": None, "PREFECT_API_URL": prefect_server}, timeout=120)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(problems) == 3, result.stderr
    words = " ".join(result.stderr.split())
    assert "CAKUPAN_PII_KEY is not set" in words
    assert f"--landing: folder '{tmp_path / 'absent'}' does not exist" in words
    assert f"--warehouse: cannot write {not_a_folder / 'cakupan.duckdb'}" in words


def test_serve_refuses_a_weak_key_for_a_new_warehouse(cakupan_command, prefect_server, landing, tmp_path):
    result = cakupan_command("serve", "--landing", landing, "--warehouse", tmp_path / "w" / "cakupan.duckdb",
                             env={"CAKUPAN_PII_KEY": "short", "PREFECT_API_URL": prefect_server}, timeout=120)
    assert result.returncode == 2
    assert "CAKUPAN_PII_KEY is too short" in " ".join(result.stderr.split())


def test_serve_says_what_it_registered(served):
    deadline = time.monotonic() + 60
    while "backfill/backfill" not in served.output.read_text() and time.monotonic() < deadline:
        time.sleep(1)
    said = " ".join(served.output.read_text().split())
    assert "registered nightly/nightly: every day at 02:00 Asia/Jakarta (cron 0 2 * * *)" in said
    assert ("registered backfill/backfill: on demand; run one with: prefect deployment run backfill/backfill "
            "-p start=YYYY-MM-DD -p end=YYYY-MM-DD") in said
    assert f"landing {served.landing}" in said and f"warehouse {served.warehouse}" in said
