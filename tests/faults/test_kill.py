"""kill -9 leaves no debris: no Prefect server or worker process outlives its command, and the
next run closes the audit row the killed run left RUNNING and, starting its own, removes the
socket folder of the killed run's forkserver; after a full disk the next run loads everything."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cakupan.warehouse.connection import connect
from tests.support import descendant_processes


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def runs(warehouse):
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "select state, finished_at is not null, reason from audit.runs order by started_at"
        ).fetchall()


def test_kill_9_mid_run_leaves_no_server_and_the_next_run_closes_its_row(
    cakupan_command, landing, tmp_path, short_tmpdir, stop_started_process
):
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    tmpdir = short_tmpdir
    run = cakupan_command.start("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                                "--workers", "2", env={"TMPDIR": str(tmpdir)}, embedded=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # the first chunk's Data Docs exist once its files are loaded: the run is past its audit row
        assert _wait_for(lambda: list((warehouse.parent / "data_docs").glob("*/*.html")), 300)
        servers = descendant_processes(run.pid)  # the Prefect server, and the workers' forkserver and theirs
        assert servers, "the command runs its Prefect server as a child"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert _wait_for(lambda: not any(_alive(pid) for pid in servers), 10), "a server outlived its command"
    finally:
        stop_started_process(run, signal.SIGKILL)

    assert runs(warehouse) == [("RUNNING", False, None)]
    socket_folders = list(tmpdir.iterdir())
    assert [folder.name.split("-")[:3] for folder in socket_folders] == [["cakupan", "forkserver", str(run.pid)]]
    again = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                            "--workers", "2", env={"TMPDIR": str(tmpdir)})
    assert again.returncode == 0, again.stderr
    assert list(tmpdir.iterdir()) == [], "the killed command's socket folder (or the next one's) is left"
    (crashed, finished, reason), completed = runs(warehouse)
    assert (crashed, finished) == ("CRASHED", True)
    assert "ended without recording its end" in reason and "noticed at" in reason
    assert completed == ("COMPLETED", True, None)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system (tmpfs, needs root) that can be enlarged, as an operator frees space."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_after_a_full_disk_the_next_run_loads_everything_and_no_run_stays_running(
    cakupan_command, landing, small_disk
):
    warehouse = small_disk / "cakupan.duckdb"
    full = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)
    assert full.returncode == 1
    # DuckDB gives back the failed transaction's space, so this run could record its end; a run
    # that could not is closed as in the kill -9 test above
    assert [state for state, _, _ in runs(warehouse)] in (["FAILED"], ["RUNNING"])

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    again = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)
    assert again.returncode == 0, again.stderr
    assert [state for state, _, _ in runs(warehouse)][-1] == "COMPLETED"
    assert "RUNNING" not in [state for state, _, _ in runs(warehouse)]
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.extract_files where status = 'LOADED'").fetchone() == (24,)
