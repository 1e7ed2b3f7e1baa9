"""The command as a person or a cron line uses it: exit codes, one-line errors, one writer."""

import os
import subprocess


from cakupan.warehouse.connection import connect
from cakupan.warehouse.lock import writer_lock

def assert_short_error(result, *fragments):
    assert "Traceback" not in result.stderr + result.stdout
    # the usage-error panel wraps long lines inside a box: read it as plain words
    words = " ".join(result.stderr.replace("│", " ").split())
    for fragment in fragments:
        assert fragment in words


def test_bad_date_is_a_usage_error(embedded_command, tmp_path):
    result = embedded_command("nightly", "--as-of", "2025-02-30", "--landing", str(tmp_path))
    assert result.returncode == 2
    assert_short_error(result, "--as-of", "2025-02-30")


def test_missing_landing_folder_is_a_usage_error(embedded_command, tmp_path):
    result = embedded_command("backfill", "--start", "2025-01-01", "--end", "2025-01-31", "--landing", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert_short_error(result, "--landing", "does not exist")


def test_landing_from_environment_variable(embedded_command, tmp_path):
    result = embedded_command("nightly", env={"CAKUPAN_LANDING": str(tmp_path / "absent")})
    assert result.returncode == 2
    assert_short_error(result, "absent")


def test_a_warehouse_at_the_earlier_default_is_named_when_the_default_is_used(embedded_command, tmp_path):
    earlier = tmp_path / "warehouse" / "cakupan.duckdb"
    earlier.parent.mkdir()
    earlier.touch()
    defaulted = embedded_command("nightly", "--landing", "absent", cwd=tmp_path, env={"CAKUPAN_WAREHOUSE": None})
    assert defaulted.returncode == 2  # the missing landing, after the warning
    assert ("warning: warehouse/cakupan.duckdb holds the warehouse of the earlier default; this run uses "
            "data/cakupan.duckdb, the default now") in " ".join(defaulted.stderr.split())

    given = embedded_command("nightly", "--landing", "absent", "--warehouse", earlier, cwd=tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cakupan.duckdb").touch()
    moved = embedded_command("nightly", "--landing", "absent", cwd=tmp_path, env={"CAKUPAN_WAREHOUSE": None})
    for result in (given, moved):
        assert result.returncode == 2 and "earlier default" not in result.stderr


def test_missing_key_stops_with_a_clear_message(embedded_command, tmp_path):
    result = embedded_command("nightly", "--landing", tmp_path, env={"CAKUPAN_PII_KEY": None})
    assert result.returncode == 2
    assert_short_error(result, "CAKUPAN_PII_KEY is not set")


def test_unknown_option_is_a_usage_error(embedded_command):
    result = embedded_command("nightly", "--as_of", "2025-01-01")
    assert result.returncode == 2


def test_end_before_start_is_a_usage_error(embedded_command, tmp_path):
    result = embedded_command("backfill", "--start", "2025-02-01", "--end", "2025-01-01", "--landing", str(tmp_path))
    assert result.returncode == 2
    assert_short_error(result, "--end")


def test_nightly_run_exits_0_and_a_rejected_file_exits_1(cakupan_command, landing, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    ok = cakupan_command("nightly", "--as-of", "2025-03-04", "--landing", str(landing), "--warehouse", warehouse)
    assert ok.returncode == 0, ok.stderr
    (landing / "enrolments_20250305.csv").write_bytes(b"kpj,nik\n\xff\xfe\n")
    bad = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)
    assert bad.returncode == 1
    assert_short_error(bad, "enrolments_20250305.csv")


def test_a_second_writer_waits_then_stops_with_a_clear_message(cakupan_command, landing, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with writer_lock(warehouse, wait_seconds=0):
        result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                                 env={"CAKUPAN_WRITER_WAIT_SECONDS": "1"})
    assert result.returncode == 1
    assert_short_error(result, "another run is writing the warehouse")
    assert not warehouse.exists() or _loaded(warehouse) == 0


def test_two_concurrent_runs_one_waits_and_the_end_state_is_right(cakupan_command, landing, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    args = ["nightly", "--as-of", "2025-03-12", "--landing", str(landing), "--warehouse", warehouse]
    runs = [cakupan_command.start(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert [code for code, _ in results] == [0, 0], results
    assert _loaded(warehouse) == 24  # each file once: the second run found nothing new
    with connect(warehouse, read_only=True) as con:
        assert sorted(con.execute("select files_loaded from audit.runs").fetchall()) == [(0,), (24,)]


def _loaded(warehouse):
    with connect(warehouse, read_only=True) as con:
        return con.execute("select count(*) from audit.extract_files where status = 'LOADED'").fetchone()[0]


def test_progress_is_a_bar_on_a_terminal_and_log_lines_otherwise(cakupan_command, landing, tmp_path):
    import pty

    args = ["nightly", "--as-of", "2025-03-12", "--landing", str(landing)]
    piped = cakupan_command(*args, "--warehouse", str(tmp_path / "piped.duckdb"))
    assert piped.returncode == 0
    assert "24 of 24 files done" in piped.stderr + piped.stdout

    leader, follower = pty.openpty()
    run = cakupan_command.start(*args, "--warehouse", tmp_path / "tty.duckdb", stdout=subprocess.DEVNULL,
                                stderr=follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the command ends
            break
        if not chunk:
            break
        screen += chunk
    assert run.wait(timeout=300) == 0
    text = screen.decode(errors="replace")
    assert "loading files" in text and "24/24" in text and "rows/s" in text
    assert "24 of 24 files done" not in text


def test_a_run_waits_for_the_prefect_concurrency_slot_then_stops(cakupan_command, landing, tmp_path):
    from prefect.concurrency.sync import concurrency

    warehouse = tmp_path / "w.duckdb"
    with concurrency("cakupan-warehouse", occupy=1, strict=True):
        result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                                 env={"CAKUPAN_WRITER_WAIT_SECONDS": "2"})
    assert result.returncode == 1
    assert_short_error(result, "concurrency limit 'cakupan-warehouse'")
