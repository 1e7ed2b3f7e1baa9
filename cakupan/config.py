"""Configuration shared by the command, the flows and the deployments."""

from __future__ import annotations

import os
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

# The key `cakupan demo` uses; never for real data.
DEMO_PII_KEY = "cakupan-demo-key-not-for-production"


# What a run creates (the warehouse with hashed identifiers and wages, reports, Data Docs)
# is for its owner only, whatever the umask of the shell, cron or service that started it.
OWNER_ONLY_UMASK = 0o077


def owner_only_files() -> None:
    os.umask(OWNER_ONLY_UMASK)


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
        # The embedded server of a new PREFECT_HOME migrates its database first: on a busy
        # machine that takes far longer than Prefect's 20 s (flows/embedded_server.py).
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }.items():
        os.environ.setdefault(name, value)
