"""One clock of record: every time the warehouse keeps is a UTC instant, whatever the machine's
time zone, so `backfill --resume` tells the interrupted backfill's loads from everyone else's
under TZ=Asia/Jakarta (east of UTC) and TZ=America/Sao_Paulo (west of it)."""

import os
import signal
import subprocess
from datetime import date, datetime, timedelta, timezone

import duckdb

from cakupan.ingest.discover import CHUNK_MAX_FILES
from cakupan.warehouse.connection import connect


JAKARTA, SAO_PAULO = "Asia/Jakarta", "America/Sao_Paulo"


# The command runs embedded (`embedded_command`): a killed run holds no server's slot.


def _killed_when(command, args: list, env: dict, line_says: str, stop_started_process) -> str:
    """Run the command and kill -9 it as soon as a line of its log holds `line_says`; its log."""
    run = command.start(*args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                        start_new_session=True)
    seen = []
    try:
        for line in run.stderr:
            seen.append(line)
            if line_says in line:
                os.killpg(run.pid, signal.SIGKILL)
                break
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            stop_started_process(run, signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def _loaded_by(warehouse) -> dict[str, str]:
    with connect(warehouse, read_only=True) as con:
        return dict(con.execute(
            "select file_name, run_id from audit.extract_files where status = 'LOADED'").fetchall())


def _runs(warehouse) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute("select run_id, flow, state from audit.runs order by started_at").fetchall()


def test_resume_after_a_kill_in_jakarta_reloads_only_what_was_not_loaded(embedded_command, tmp_path,
                                                                          stop_started_process):
    # three chunks of files (two full, one of a tenth): the kill comes once the first is committed
    landing = tmp_path / "landing"
    landing.mkdir()
    first, days = date(2015, 1, 1), CHUNK_MAX_FILES * 11 // 10
    for day in range(days):
        for kind, header in (("employers", "npp,name,kbli,district,size_class,reported_workers,registered_on,"
                                            "status,updated_at"),
                             ("enrolments", "kpj,nik,npp,segment,kbli,district,programs,wage,contribution_source,"
                                            "start_date,end_date,status,updated_at")):
            (landing / f"{kind}_{first + timedelta(days=day):%Y%m%d}.csv").write_text(header + "\n")
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    last = first + timedelta(days=days - 1)
    backfill = ["backfill", "--start", first, "--end", last, "--landing", landing, "--warehouse", warehouse]
    env = {"TZ": JAKARTA, "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO"}

    _killed_when(embedded_command, backfill, env, f"chunk of {CHUNK_MAX_FILES} file(s)", stop_started_process)
    done_before = _loaded_by(warehouse)
    assert 0 < len(done_before) < 2 * days

    resumed = embedded_command(*backfill, "--resume", env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Validating and loading {2 * days - len(done_before)} file(s)" in resumed.stderr
    after = _loaded_by(warehouse)
    assert len(after) == 2 * days
    assert {name: after[name] for name in done_before} == done_before  # not redone
    (killed, _, crashed), (resume_id, _, completed) = _runs(warehouse)
    assert (crashed, completed) == ("CRASHED", "COMPLETED")
    assert {run for name, run in after.items() if name not in done_before} == {resume_id}
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.extract_files where status = 'SUPERSEDED'").fetchone() == (0,)


def test_resume_in_sao_paulo_does_not_take_a_nightlys_loads_for_the_backfills(
    embedded_command, landing, tmp_path, stop_started_process
):
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    env = {"TZ": SAO_PAULO}
    nightly = embedded_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                               env=env)
    assert nightly.returncode == 0, nightly.stderr
    backfill = ["backfill", "--start", "2025-03-01", "--end", "2025-03-12", "--landing", landing,
                "--warehouse", warehouse]

    _killed_when(embedded_command, backfill, env, "2/4 Validating and loading", stop_started_process)
    [nightly_id] = set(_loaded_by(warehouse).values())  # the killed backfill loaded nothing

    resumed = embedded_command(*backfill, "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "Validating and loading 24 file(s)" in resumed.stderr
    resume_id = _runs(warehouse)[-1][0]
    assert set(_loaded_by(warehouse).values()) == {resume_id} != {nightly_id}


def test_every_time_the_warehouse_keeps_is_a_utc_instant(embedded_command, landing, tmp_path):
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    run = embedded_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                           env={"TZ": JAKARTA})
    assert run.returncode == 0, run.stderr
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    with connect(warehouse, read_only=True) as con:
        kept = con.execute(
            """
            select started_at from audit.runs union all select finished_at from audit.runs
            union all select processed_at from audit.extract_files
            union all select recorded_at from audit.pii_key
            union all select published_at from history.publications
            """
        ).fetchall()
        types = set(con.execute(
            "select data_type from information_schema.columns where column_name in "
            "('started_at', 'finished_at', 'processed_at', 'recorded_at', 'published_at')").fetchall())
    assert types == {("TIMESTAMP WITH TIME ZONE",)}
    assert all(before <= instant <= after for (instant,) in kept), kept
