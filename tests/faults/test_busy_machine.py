"""Embedded mode (no PREFECT_API_URL) on a busy machine with a new PREFECT_HOME, as on a new
machine or under cron: runs start, a second run waits, and a start too slow says what to do."""

import subprocess
import sys

import pytest

from cakupan.warehouse.connection import connect


@pytest.fixture
def busy_machine(stop_started_process):
    """Two processes spinning on the CPU (this machine has two cores) while the test runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
                for _ in range(2)]
    yield
    for spinner in spinners:
        stop_started_process(spinner, 9)


def embedded_env(prefect_home, **extra):
    # no PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS unless given: the command's own default applies
    return {"PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": None, **extra}


def test_a_backfill_and_a_nightly_with_a_new_prefect_home_both_complete(embedded_command, busy_machine, landing,
                                                                         tmp_path):
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    env = embedded_env(tmp_path / "new-prefect-home")
    common = ["--landing", str(landing), "--warehouse", str(warehouse)]
    backfill = embedded_command.start("backfill", "--start", "2025-03-01", "--end", "2025-03-12", *common,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    nightly = embedded_command.start("nightly", "--as-of", "2025-03-12", *common,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [(run.wait(timeout=600), run.stderr.read()) for run in (backfill, nightly)]
    assert [code for code, _ in results] == [0, 0], results
    with connect(warehouse, read_only=True) as con:
        assert sorted(con.execute("select flow, state from audit.runs").fetchall()) == [
            ("backfill", "COMPLETED"), ("nightly", "COMPLETED")]
        assert con.execute("select count(*) from audit.extract_files where status = 'LOADED'").fetchone() == (24,)


def test_a_server_too_slow_to_start_says_in_one_line_what_to_do(embedded_command, error_words, landing, tmp_path):
    env = embedded_env(tmp_path / "new-prefect-home", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")
    result = embedded_command("nightly", "--as-of", "2025-03-12", "--landing", landing,
                              "--warehouse", tmp_path / "w" / "cakupan.duckdb", env=env)
    assert result.returncode == 1
    words = error_words(result)
    assert "the embedded Prefect server did not answer within 1 s" in words
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in words and "PREFECT_API_URL" in words
    assert words.startswith("error: the embedded Prefect server") and words.count("error:") == 1
    assert not (tmp_path / "w" / "cakupan.duckdb").exists()


def test_an_embedded_run_sends_its_last_logs_before_its_server_stops(embedded_command, landing, tmp_path):
    """Logs still queued when the run ends went to a stopped server, retried for over a minute."""
    result = embedded_command("nightly", "--as-of", "2025-03-12", "--landing", landing,
                              "--warehouse", tmp_path / "w" / "cakupan.duckdb")
    assert result.returncode == 0, result.stderr
    assert "Finished in state Completed" in result.stderr
    assert "Error logging to API" not in result.stderr and "connection attempts failed" not in result.stderr
