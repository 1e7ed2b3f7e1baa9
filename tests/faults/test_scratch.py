"""Raw rows staged by a worker never outlive the run on disk: a run killed with kill -9 while
it prepares a slice leaves its scratch DuckDB (raw nik and kpj, compressed: a grep finds
nothing) where the next run finds it, and the next run removes it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from .test_kill import _wait_for, runs


def staged_rows(*folders: Path) -> list[Path]:
    """Files of a worker's scratch DuckDB (the database, its WAL and spill files) under `folders`;
    `cakupan-read-*` is where earlier versions staged, in $TMPDIR."""
    found = []
    for folder in folders:
        found += [path for path in folder.rglob("*") if path.name.startswith("rows.duckdb")]
        found += list(folder.glob("cakupan-read-*"))
    return found


def leftovers(warehouse: Path, tmpdir: Path) -> list[Path]:
    """What a run left that it should not have: staged raw rows anywhere, any scratch of a run."""
    scratch = warehouse.parent / "scratch"
    return staged_rows(warehouse.parent, tmpdir) + (list(scratch.iterdir()) if scratch.is_dir() else [])


def start_run(command, *args, tmpdir: Path) -> subprocess.Popen:
    """The real command in a session of its own, Prefect embedded, `tmpdir` as its TMPDIR."""
    return command.start(*args, env={"TMPDIR": str(tmpdir), "CAKUPAN_SETTLE_SECONDS": "0"}, embedded=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_kill_9_while_preparing_leaves_raw_rows_that_the_next_run_removes(
    cakupan_command, landing, tmp_path, stop_started_process
):
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    run = start_run(cakupan_command, "nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                    "--workers", "1", tmpdir=tmpdir)
    try:
        assert _wait_for(lambda: staged_rows(warehouse.parent, tmpdir), 300, step=0.01), "no slice was prepared"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    finally:
        stop_started_process(run, signal.SIGKILL)
    staged = staged_rows(warehouse.parent, tmpdir)
    assert staged, "the kill came after preparation"
    # where the run can find it: under its own scratch folder beside the warehouse, owner-only
    assert all(path.is_relative_to(warehouse.parent / "scratch") for path in staged), staged
    private = {path.parent for path in staged if path.name == "rows.duckdb"}
    assert private and all(folder.stat().st_mode & 0o777 == 0o700 for folder in private)

    again = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                            env={"TMPDIR": str(tmpdir)}, embedded=True)
    assert again.returncode == 0, again.stderr
    assert [state for state, _, _ in runs(warehouse)] == ["CRASHED", "COMPLETED"]
    assert leftovers(warehouse, tmpdir) == []
