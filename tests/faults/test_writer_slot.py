"""A run killed with kill -9 while it holds the Prefect server's writer slot does not hold the
next run up for the slot's lease: the file lock shows its holder is gone, and the next run
releases the dead run's slot, says so, and goes ahead."""

from __future__ import annotations

import os
import signal
import subprocess

from .test_kill import _wait_for, runs


def test_a_run_killed_holding_the_prefect_slot_does_not_hold_up_the_next(
    cakupan_command, landing, tmp_path, stop_started_process
):
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    backfill = cakupan_command.start(
        "backfill", "--start", "2025-03-01", "--end", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        # the first chunk's Data Docs exist once its files are loaded: the run is loading, holding the slot
        assert _wait_for(lambda: list((warehouse.parent / "data_docs").glob("*/*.html")), 300)
        os.kill(backfill.pid, signal.SIGKILL)
        backfill.wait()
    finally:
        if backfill.poll() is None:
            stop_started_process(backfill, signal.SIGKILL)
    assert [state for state, _, _ in runs(warehouse)] == ["RUNNING"]

    # the slot's lease (minutes) is far longer than this run may wait: only releasing it lets the run go ahead
    nightly = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                              env={"CAKUPAN_WRITER_WAIT_SECONDS": "30"})
    output = nightly.stdout + nightly.stderr
    assert nightly.returncode == 0, output
    assert "ERROR" not in output and "Traceback" not in output, output
    words = " ".join(output.split())
    assert f"pid {backfill.pid}" in words and "ended without releasing the Prefect concurrency slot" in words, words
    assert [state for state, _, _ in runs(warehouse)] == ["CRASHED", "COMPLETED"]

    # and the slot is free again for the run after
    after = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                            env={"CAKUPAN_WRITER_WAIT_SECONDS": "30"})
    assert after.returncode == 0, after.stdout + after.stderr
    assert "ended without releasing" not in after.stdout + after.stderr
