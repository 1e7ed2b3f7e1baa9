"""Fault tests drive the real `cakupan` command (and `cakupan serve` with a real Prefect server)
the way an operator, a cron line or an attacker would."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import PREFECT, Command


@pytest.fixture(scope="session")
def loaded_warehouse(cakupan_command, generated_landing, tmp_path_factory) -> Path:
    """A warehouse after one nightly of the generated landing up to 2025-03-06 (copy before changing)."""
    warehouse = tmp_path_factory.mktemp("loaded") / "cakupan.duckdb"
    result = cakupan_command("nightly", "--as-of", "2025-03-06", "--landing", generated_landing,
                             "--warehouse", warehouse)
    assert result.returncode == 0, result.stderr
    return warehouse


@pytest.fixture
def warehouse_copy(loaded_warehouse, tmp_path) -> Path:
    """A private copy of the loaded warehouse, in its own folder."""
    folder = tmp_path / "warehouse"
    folder.mkdir()
    return Path(shutil.copy(loaded_warehouse, folder / loaded_warehouse.name))


@pytest.fixture(scope="session")
def error_words():
    """The command's error output as plain words, after checking it holds no traceback."""

    def words(result: subprocess.CompletedProcess) -> str:
        assert "Traceback" not in result.stdout + result.stderr
        return " ".join(result.stderr.replace("│", " ").split())

    return words


class Served:
    """`cakupan serve` running against the test's Prefect server; deployment runs and their logs."""

    def __init__(self, api_url: str, env: dict, landing: Path, warehouse: Path, process: subprocess.Popen,
                 output: Path):
        self.api_url, self.env, self.landing, self.warehouse = api_url, env, landing, warehouse
        self.process, self.output = process, output

    def client(self):
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        class _Client:
            def __enter__(inner):
                inner.settings = temporary_settings({PREFECT_API_URL: self.api_url})
                inner.settings.__enter__()
                inner.client = get_client(sync_client=True).__enter__()
                return inner.client

            def __exit__(inner, *exc):
                inner.client.__exit__(*exc)
                inner.settings.__exit__(*exc)

        return _Client()

    def run(self, deployment: str, **parameters):
        """Trigger a deployment with the `prefect deployment run` line of the README; returns
        (flow run, its log messages)."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        args = [PREFECT, "deployment", "run", deployment, "--watch", "--watch-timeout", "300"]
        for name, value in parameters.items():
            args += ["-p", f"{name}={value}"]
        triggered = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=330)
        run_id = next(
            line.split("UUID:")[1].strip() for line in triggered.stdout.splitlines() if "UUID:" in line
        )
        with self.client() as client:
            run = client.read_flow_run(run_id)
            deadline = time.monotonic() + 30  # the run's last log lines are sent in batches
            while True:
                logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
                messages = [log.message for log in logs]
                if any("Finished in state" in m for m in messages) or time.monotonic() > deadline:
                    return run, messages
                time.sleep(1)


@pytest.fixture(scope="package")  # stopped after tests/faults: another `cakupan serve` re-registers the deployments
def served(prefect_server, prefect_api, generated_landing, tmp_path_factory, stop_started_process):
    """`cakupan serve` of a landing copy and a fresh warehouse, for the whole session."""
    root = tmp_path_factory.mktemp("served")
    landing = Path(shutil.copytree(generated_landing, root / "landing"))
    warehouse = root / "warehouse" / "cakupan.duckdb"
    command = Command(prefect_server)
    env = command.env()
    output = root / "serve.log"
    with output.open("w") as log:
        process = command.start("serve", "--landing", landing, "--warehouse", warehouse,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(prefect_server, env, landing, warehouse, process, output)
    with served.client() as client:
        deadline = time.monotonic() + 120
        # other tests may have registered these names with other folders: wait for ours
        while {d.parameters.get("warehouse") for d in client.read_deployments()} != {str(warehouse)}:
            assert process.poll() is None and time.monotonic() < deadline, "cakupan serve did not register"
            time.sleep(1)
    try:
        yield served
    finally:
        stop_started_process(process, signal.SIGINT, grace_seconds=30)
