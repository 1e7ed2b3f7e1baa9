"""Configuration shared by the command, the flows and the deployments."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

LANDING_ENV = "CAKUPAN_LANDING"
WAREHOUSE_ENV = "CAKUPAN_WAREHOUSE"
DEFAULT_LANDING = "./landing"
DEFAULT_WAREHOUSE = "./warehouse/cakupan.duckdb"

# The Prefect global concurrency limit that serialises writers when a server is configured.
WAREHOUSE_CONCURRENCY_LIMIT = "cakupan-warehouse"
# How long a run waits for another writer before it stops with a clear message.
WRITER_WAIT_SECONDS = float(os.environ.get("CAKUPAN_WRITER_WAIT_SECONDS", "600"))

# Freshness of the deliveries (nightly only): a kind whose newest loaded extract is more than
# this many days before the run date is late (a warning and a banner) or stale (the run fails).
LATE_DAYS_ENV = "CAKUPAN_LATE_DAYS"
STALE_DAYS_ENV = "CAKUPAN_STALE_DAYS"


@dataclass(frozen=True)
class FreshnessThresholds:
    late_days: int = 1
    stale_days: int = 3


def freshness_thresholds() -> FreshnessThresholds:
    """Read at call time, so a deployment picks up a changed value on its next run."""
    defaults = FreshnessThresholds()
    late = _whole_days(LATE_DAYS_ENV, defaults.late_days)
    stale = _whole_days(STALE_DAYS_ENV, defaults.stale_days)
    if stale < late:
        raise ValueError(f"{STALE_DAYS_ENV}={stale} is below {LATE_DAYS_ENV}={late}: stale must not come before late")
    return FreshnessThresholds(late, stale)


def _whole_days(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"{variable}={text!r} is not a whole number of days")
    return int(text)


# The key `cakupan demo` uses; never for real data.
DEMO_PII_KEY = "cakupan-demo-key-not-for-production"


def today_jakarta() -> date:
    return datetime.now(JAKARTA).date()


def landing_path() -> Path:
    return Path(os.environ.get(LANDING_ENV, DEFAULT_LANDING))


def warehouse_path() -> Path:
    return Path(os.environ.get(WAREHOUSE_ENV, DEFAULT_WAREHOUSE))


def report_dir(warehouse: str | Path) -> Path:
    """Reports live beside the warehouse file they describe."""
    return Path(warehouse).parent / "report"


def data_docs_dir(warehouse: str | Path) -> Path:
    return Path(warehouse).parent / "data_docs"


def quiet_prefect() -> None:
    """Defaults for a quiet command-line run; anything the user set wins."""
    for name, value in {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    }.items():
        os.environ.setdefault(name, value)
