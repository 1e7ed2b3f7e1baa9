"""The run's settings (config.Settings): read from the environment once at the run's entry,
each bad value refused there with a message naming its variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cakupan.config import (
    FreshnessThresholds, ReferenceFiles, Settings, WorkerLimits, WorkerSettings, run_settings, worker_limits,
)
from cakupan.parameters import BadParameter, settings_of_run

CAKUPAN = str(Path(sys.executable).with_name("cakupan"))
VARIABLES = ("CAKUPAN_WRITER_WAIT_SECONDS", "CAKUPAN_SETTLE_SECONDS", "CAKUPAN_LATE_DAYS", "CAKUPAN_STALE_DAYS",
             "CAKUPAN_WORKERS", "CAKUPAN_DASK_ADDRESS", "CAKUPAN_TARGETS", "CAKUPAN_REFERENCE_DIR",
             "CAKUPAN_DUCKDB_MEMORY_LIMIT")


@pytest.fixture
def environment(monkeypatch):
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_the_defaults_without_a_variable_set(environment):
    assert run_settings() == Settings(
        workers=None, writer_wait_seconds=600.0, settle_seconds=120.0, freshness=FreshnessThresholds(1, 3),
        reference=ReferenceFiles("relative", None), duckdb_memory_limit="1GB",
    )


def test_each_value_comes_from_its_variable(environment, tmp_path):
    environment.setenv("CAKUPAN_WRITER_WAIT_SECONDS", "30")
    environment.setenv("CAKUPAN_SETTLE_SECONDS", "0.5")
    environment.setenv("CAKUPAN_LATE_DAYS", "2")
    environment.setenv("CAKUPAN_STALE_DAYS", "5")
    environment.setenv("CAKUPAN_WORKERS", "3")
    environment.setenv("CAKUPAN_TARGETS", "points")
    environment.setenv("CAKUPAN_REFERENCE_DIR", str(tmp_path))
    environment.setenv("CAKUPAN_DUCKDB_MEMORY_LIMIT", "3GB")
    assert settings_of_run(None, None) == Settings(
        workers=WorkerSettings(3, None), writer_wait_seconds=30.0, settle_seconds=0.5,
        freshness=FreshnessThresholds(2, 5), reference=ReferenceFiles("points", tmp_path),
        duckdb_memory_limit="3GB",
    )


def test_the_parameters_win_over_the_environment(environment):
    environment.setenv("CAKUPAN_WORKERS", "3")
    assert settings_of_run("2", None).workers == WorkerSettings(2, None)
    assert settings_of_run(None, "tcp://scheduler:8786").workers == WorkerSettings(None, "tcp://scheduler:8786")


@pytest.mark.parametrize("variable, value, message", [
    ("CAKUPAN_SETTLE_SECONDS", "soon", "CAKUPAN_SETTLE_SECONDS='soon': expected a number of seconds, 0 or more"),
    ("CAKUPAN_SETTLE_SECONDS", "-1", "CAKUPAN_SETTLE_SECONDS='-1': expected a number of seconds, 0 or more"),
    ("CAKUPAN_SETTLE_SECONDS", "nan", "CAKUPAN_SETTLE_SECONDS='nan': expected a number of seconds, 0 or more"),
    ("CAKUPAN_LATE_DAYS", "x", "CAKUPAN_LATE_DAYS='x' is not a whole number of days"),
    ("CAKUPAN_STALE_DAYS", "-2", "CAKUPAN_STALE_DAYS='-2' is not a whole number of days"),
    ("CAKUPAN_STALE_DAYS", "0", "CAKUPAN_STALE_DAYS=0 is below CAKUPAN_LATE_DAYS=1: stale must not come before late"),
    ("CAKUPAN_WRITER_WAIT_SECONDS", "long", "could not convert string to float: 'long'"),
    ("CAKUPAN_TARGETS", "percent", "CAKUPAN_TARGETS='percent': expected one of relative, points"),
    ("CAKUPAN_WORKERS", "many", "CAKUPAN_WORKERS='many': expected a whole number of at least 1"),
])
def test_a_bad_value_is_refused_at_the_entry_naming_its_variable(environment, variable, value, message):
    environment.setenv(variable, value)
    with pytest.raises(BadParameter) as refused:
        settings_of_run(None, None)
    assert str(refused.value) == message
    if variable != "CAKUPAN_WORKERS":  # the command's own option checks that one (typer)
        with pytest.raises(ValueError) as raised:
            run_settings()
        assert str(raised.value) == message


def test_the_settings_are_a_plain_value_a_task_can_take(environment):
    """Passed to tasks as a parameter: picklable, and equal to itself once it travelled."""
    import pickle

    settings = settings_of_run(None, "tcp://scheduler:8786")
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_the_command_refuses_a_bad_value_before_any_work(tmp_landing, tmp_path):
    """Said at the entry, in one line, as a usage error: no warehouse is created, no flow starts."""
    warehouse = tmp_path / "w.duckdb"
    env = {**os.environ, "CAKUPAN_PII_KEY": "cli-key-for-tests-32-bytes-or-more", "CAKUPAN_STALE_DAYS": "x"}
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run(
        [CAKUPAN, "nightly", "--as-of", "2025-03-05", "--landing", str(tmp_landing), "--warehouse", str(warehouse)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "error: CAKUPAN_STALE_DAYS='x' is not a whole number of days"
    assert not warehouse.exists()


def test_a_flow_run_refuses_a_bad_value_at_its_start(prefect_api, environment, tmp_landing, tmp_path):
    """A deployment's run reads the environment of its worker: refused at the flow's start, before
    the warehouse is opened, with the same line as its message."""
    from cakupan.flows.backfill import backfill

    environment.setenv("CAKUPAN_SETTLE_SECONDS", "-1")
    warehouse = tmp_path / "w.duckdb"
    state = backfill(start="2025-03-01", end="2025-03-05", landing=str(tmp_landing), warehouse=str(warehouse),
                     return_state=True)
    assert state.is_failed()
    assert state.message == "CAKUPAN_SETTLE_SECONDS='-1': expected a number of seconds, 0 or more"
    assert not warehouse.exists()


def test_a_workers_limits_come_from_its_own_environment(monkeypatch):
    """Read on the worker, once per slice; the key is not among them (it never travels)."""
    monkeypatch.delenv("CAKUPAN_STAGING_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("CAKUPAN_MAX_FILE_BYTES", raising=False)
    assert worker_limits() == WorkerLimits(staging_memory_limit="256MB", max_file_bytes=4_000_000_000)
    monkeypatch.setenv("CAKUPAN_STAGING_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("CAKUPAN_MAX_FILE_BYTES", "1000")
    assert worker_limits() == WorkerLimits("512MB", 1000)
    assert not any("key" in name for name in WorkerLimits.__dataclass_fields__)


@pytest.mark.parametrize("value", ["0", "-5", "big"])
def test_a_bad_file_size_limit_is_named(monkeypatch, value):
    monkeypatch.setenv("CAKUPAN_MAX_FILE_BYTES", value)
    with pytest.raises(ValueError) as raised:
        worker_limits()
    assert str(raised.value) == f"CAKUPAN_MAX_FILE_BYTES={value!r}: expected a positive number of bytes"


def test_the_warehouse_opens_with_the_memory_limit_passed_down(tmp_path):
    from cakupan.warehouse.connection import connect

    with connect(tmp_path / "w.duckdb", memory_limit="3GB") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("2.7 GiB",)  # 3 GB as DuckDB shows it
