"""`cakupan serve` against a real Prefect server: schedule, on-demand backfill, cleanup."""

import signal
import subprocess
import time

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from cakupan.warehouse.connection import connect
from tests.support import PREFECT, Command


def _wait_for_deployments(client, names, warehouse, seconds=90):
    """The deployments as this test's `cakupan serve` registered them (not an earlier serve's)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = {d.name: d for d in client.read_deployments()
                 if d.parameters.get("warehouse") == str(warehouse.resolve())}
        if set(names) <= set(found):
            return found
        time.sleep(1)
    raise AssertionError(f"deployments {names} not registered within {seconds} s")


@pytest.mark.cli  # `cakupan serve` on the bare server: it makes the writer limit itself (no `cakupan_command`)
def test_serve_schedules_nightly_and_runs_a_backfill_on_demand(prefect_server, landing, tmp_path, stop_started_process):
    warehouse = tmp_path / "served" / "cakupan.duckdb"
    command = Command(prefect_server)
    env = command.env({"PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    serving = command.start("serve", "--landing", landing, "--warehouse", warehouse, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server}), get_client(sync_client=True) as client:
            deployments = _wait_for_deployments(client, ["nightly", "backfill"], warehouse)
            (schedule,) = deployments["nightly"].schedules
            assert schedule.schedule.cron == "0 2 * * *"
            assert schedule.schedule.timezone == "Asia/Jakarta"
            assert deployments["backfill"].schedules == []
            assert client.read_global_concurrency_limit_by_name("cakupan-warehouse").limit == 1

            # the line the README gives a data engineer
            triggered = subprocess.run(
                [PREFECT, "deployment", "run", "backfill/backfill", "-p", "start=2025-03-01", "-p", "end=2025-03-12",
                 "--watch", "--watch-timeout", "300"],
                env=env, capture_output=True, text=True, timeout=330,
            )
            assert triggered.returncode == 0, triggered.stdout + triggered.stderr
            run_id = next(line.split("UUID:")[1].strip() for line in triggered.stdout.splitlines() if "UUID:" in line)
            run = client.read_flow_run(run_id)
            assert run.deployment_id == deployments["backfill"].id
            assert run.state.is_completed(), run.state.message
            assert (run.parameters["start"], run.parameters["end"]) == ("2025-03-01", "2025-03-12")
        with connect(warehouse, read_only=True) as con:
            assert con.execute("select flow, state from audit.runs where run_id = ?", [str(run.id)]).fetchall() == [
                ("backfill", "COMPLETED")
            ]
            assert con.execute("select count(*) from audit.extract_files where status = 'LOADED'").fetchone() == (24,)
            assert con.execute("select min(year), max(year) from mart.coverage_city_year").fetchone() == (2020, 2025)
    finally:
        stop_started_process(serving, signal.SIGINT, grace_seconds=30)
