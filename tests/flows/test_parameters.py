"""A run's parameters are checked once at the flow's start, in one line naming the parameter,
with the same date and range checks as the command's options (cakupan/config.py)."""

import pytest

from cakupan.config import WorkerSettings
from cakupan.parameters import BadParameter, as_date, date_range, workers_of_run


def test_a_bad_date_and_a_range_ending_before_it_starts_name_the_parameter():
    with pytest.raises(BadParameter, match=r"^parameter as_of: '2025-02-30' is not a date \(expected YYYY-MM-DD\)$"):
        as_date("as_of", "2025-02-30")
    with pytest.raises(BadParameter, match=r"^parameter start: 5 is not a date"):
        as_date("start", 5)
    with pytest.raises(BadParameter, match=r"^parameter end: 2025-01-01 is before start 2025-02-01$"):
        date_range("2025-02-01", "2025-01-01")


def test_the_workers_come_from_the_parameter_else_the_environment(monkeypatch):
    monkeypatch.delenv("CAKUPAN_DASK_ADDRESS", raising=False)
    monkeypatch.setenv("CAKUPAN_WORKERS", "3")
    assert workers_of_run(None, None) == WorkerSettings(workers=3, dask_address=None)
    assert workers_of_run("2", "") == WorkerSettings(workers=2, dask_address=None)
    with pytest.raises(BadParameter, match=r"^parameter workers: '0' is not a whole number of at least 1$"):
        workers_of_run("0", None)
    monkeypatch.setenv("CAKUPAN_WORKERS", "many")
    with pytest.raises(BadParameter, match=r"^CAKUPAN_WORKERS='many': expected a whole number of at least 1$"):
        workers_of_run(None, None)


def test_a_dask_address_from_the_parameter_else_the_environment_replaces_local_workers(monkeypatch):
    monkeypatch.setenv("CAKUPAN_WORKERS", "many")  # not asked for: the cluster prepares the slices
    assert workers_of_run(None, "tcp://scheduler:8786") == WorkerSettings(None, "tcp://scheduler:8786")
    monkeypatch.setenv("CAKUPAN_DASK_ADDRESS", "tcp://from-env:8786")
    assert workers_of_run(None, None) == WorkerSettings(None, "tcp://from-env:8786")
