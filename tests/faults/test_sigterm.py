"""SIGTERM (timeout, systemd, a Kubernetes pod stop) ends a run within seconds even while a
slice is being prepared, leaving no process and no scratch: at most what kill -9 leaves."""

from __future__ import annotations

import signal

import duckdb
import pytest

from tests.support import descendant_processes

from .test_kill import _alive, _wait_for, runs
from .test_scratch import leftovers, staged_rows, start_run

SLOW_ROWS = 1_000_000  # about a minute of preparation for one worker here


def write_large_enrolments(path, rows: int) -> None:
    """A valid enrolments extract of `rows` rows, written by DuckDB in a second."""
    duckdb.sql(f"""
        copy (
            select lpad(i::varchar, 11, '0') as kpj, '3573' || lpad(i::varchar, 12, '0') as nik,
                   lpad((i % 5000)::varchar, 8, '0') as npp, 'PU' as segment, '' as kbli, 'KLOJEN' as district,
                   'JKK|JKM|JHT|JP' as programs, '3500000' as wage, 'EMPLOYER' as contribution_source,
                   '2021-03-01' as start_date, '' as end_date, 'AKTIF' as status,
                   '2024-12-30 10:00:00' as updated_at
            from range({rows}) as t(i)
        ) to '{path}' (header, delimiter ',')
    """)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_while_a_slice_is_prepared_ends_the_run_at_once_leaving_nothing(
    embedded_command, tmp_path, workers, stop_started_process
):
    landing = tmp_path / "landing"
    landing.mkdir()
    write_large_enrolments(landing / "enrolments_20250301.csv", SLOW_ROWS)
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    run = start_run(embedded_command, "nightly", "--as-of", "2025-03-01", "--landing", landing,
                    "--warehouse", warehouse, "--workers", workers, tmpdir=tmpdir)
    try:
        assert _wait_for(lambda: staged_rows(warehouse.parent, tmpdir), 300), "no slice was prepared"
        processes = descendant_processes(run.pid)  # the embedded Prefect server, worker processes, their forkserver
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=30)  # termination, not speed: the slice needs a minute
    finally:
        stop_started_process(run, signal.SIGKILL)

    assert run.returncode != 0
    assert "Traceback" not in stderr, stderr
    assert "SIGTERM" in stderr, stderr
    assert _wait_for(lambda: not any(_alive(pid) for pid in processes), 10), "a process outlived its run"
    assert leftovers(warehouse, tmpdir) == []
    # its audit row is closed, or left RUNNING for the next run to close as CRASHED
    assert [state for state, _, _ in runs(warehouse)] in (["FAILED"], ["RUNNING"])
