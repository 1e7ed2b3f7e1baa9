"""Flow parameters as a deployment run passes them (JSON text), checked at flow start.

The flows turn off Prefect's own parameter validation, which fails a bad date only after a
traceback; here a bad value is refused in one line naming the parameter.
"""

from __future__ import annotations

from datetime import date

from cakupan.config import (
    Settings, WorkerSettings, check_date_order, parse_date, run_settings, worker_settings, workers_from_environment,
)
from cakupan.errors import Refused


class BadParameter(Refused):
    """A flow parameter that cannot be used."""


def as_date(name: str, value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return parse_date(value)
    except ValueError as problem:
        raise BadParameter(f"parameter {name}: {problem}") from None


def as_bool(name: str, value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    raise BadParameter(f"parameter {name}: {value!r} is not true or false")


def date_range(start: date | str, end: date | str) -> tuple[date, date]:
    first, last = as_date("start", start), as_date("end", end)
    if first is None or last is None:
        raise BadParameter(f"parameter {'start' if first is None else 'end'}: a date is required (YYYY-MM-DD)")
    try:
        check_date_order(first, last, "start")
    except ValueError as problem:
        raise BadParameter(f"parameter end: {problem}") from None
    return first, last


def settings_of_run(workers: int | str | None, dask_address: str | None) -> Settings:
    """The run's settings (config.Settings): its parameters, else the environment; settled and
    checked once, at the flow's start, and passed down. A bad value is refused in one line."""
    where = workers_of_run(workers, dask_address)
    try:
        return run_settings(where)
    except ValueError as problem:
        raise BadParameter(str(problem)) from None


def workers_of_run(workers: int | str | None, dask_address: str | None) -> WorkerSettings:
    """Where the run prepares its slices, from its parameters, else the environment: settled and
    checked once, at the flow's start."""
    return worker_settings(dask_address, lambda: worker_count(workers))


def worker_count(value: int | str | None) -> int:
    """The workers parameter, else CAKUPAN_WORKERS, else the CPU cores."""
    if value is None:
        try:
            return workers_from_environment()
        except ValueError as problem:
            raise BadParameter(str(problem)) from None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) >= 1:
        return int(value)
    raise BadParameter(f"parameter workers: {value!r} is not a whole number of at least 1")
