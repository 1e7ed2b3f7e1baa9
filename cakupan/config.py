"""Configuration: the one module that reads environment variables.

Every variable is read when asked for (a function call), never at import time, so a test
or a worker process that sets one before the call is heard, and a deployment hears a changed
value on its next run. A run's settings (`Settings`: where it prepares its slices, the
writer's wait, the settle time, the freshness thresholds, the reference files, DuckDB's
memory) are read and checked once at its entry (the command, before it starts a flow; the
flow's start, for a deployment's runs too) and passed down; a bad value is refused there,
before any work. A worker reads its own limits (`WorkerLimits`) once per slice. The command's
options and the flows' parameters share the date and range checks here, so both say the same
thing about a bad date.

| variable | default | meaning |
|---|---|---|
| `CAKUPAN_LANDING` | `./landing` | landing folder of the extracts (also `--landing`) |
| `CAKUPAN_WAREHOUSE` | `./data/cakupan.duckdb` | the DuckDB warehouse file (also `--warehouse`); its `report/`, `data_docs/` and `scratch/` go beside it |
| `CAKUPAN_PII_KEY` | none | secret key of the HMAC that replaces nik and kpj; a run that loads enrolments stops without it |
| `CAKUPAN_WORKERS` | the machine's CPU cores | local worker processes that read, validate and pseudonymise (also `--workers`) |
| `CAKUPAN_DASK_ADDRESS` | none | a running Dask scheduler (`tcp://host:8786`) to do that work instead (also `--dask-address`) |
| `CAKUPAN_WRITER_WAIT_SECONDS` | `600` | how long a run waits for another writer before it stops with a clear message |
| `CAKUPAN_DUCKDB_MEMORY_LIMIT` | `1GB` | DuckDB's share of memory for the warehouse (the writer, the rebuild); beyond it DuckDB spills to disk |
| `CAKUPAN_STAGING_MEMORY_LIMIT` | `256MB` | ... for each worker's scratch database, where it stages the rows it reads; one per worker process |
| `CAKUPAN_SETTLE_SECONDS` | `120` | a landed file is due only once its size and modification time have not changed for this long (BPJS may still be copying it); a younger one is listed "not settled yet" and left for the next run |
| `CAKUPAN_MAX_FILE_BYTES` | `4000000000` | an extract larger than this many bytes (decompressed, for `.csv.gz`) is rejected unread beyond it: bounds what a gzip bomb costs |
| `CAKUPAN_REFERENCE_DIR` | none | a folder whose reference CSV files replace the shipped ones of the same name |
| `CAKUPAN_TARGETS` | `relative` | reading of the city's target: `relative` (x1.10 a year) or `points` (+10 points a year) |
| `CAKUPAN_LATE_DAYS` | `1` | a nightly finds an extract kind late when its newest loaded file is more days than this before the run date |
| `CAKUPAN_STALE_DAYS` | `3` | ... stale (the run publishes, then fails) when more days than this |
| `PREFECT_API_URL` | none | Prefect's own (also settable in a Prefect profile with `prefect config set`): the server `cakupan serve` registers with and runs record to; without it a run starts a temporary server in its process |
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")

LANDING_ENV = "CAKUPAN_LANDING"
WAREHOUSE_ENV = "CAKUPAN_WAREHOUSE"
PII_KEY_ENV = "CAKUPAN_PII_KEY"
WORKERS_ENV = "CAKUPAN_WORKERS"
DASK_ADDRESS_ENV = "CAKUPAN_DASK_ADDRESS"
WRITER_WAIT_ENV = "CAKUPAN_WRITER_WAIT_SECONDS"
MEMORY_LIMIT_ENV = "CAKUPAN_DUCKDB_MEMORY_LIMIT"
STAGING_MEMORY_LIMIT_ENV = "CAKUPAN_STAGING_MEMORY_LIMIT"
REFERENCE_DIR_ENV = "CAKUPAN_REFERENCE_DIR"
MAX_FILE_BYTES_ENV = "CAKUPAN_MAX_FILE_BYTES"
TARGETS_ENV = "CAKUPAN_TARGETS"
SETTLE_SECONDS_ENV = "CAKUPAN_SETTLE_SECONDS"

DEFAULT_LANDING = "./landing"
# In a folder of data only, not in `warehouse/`, the source folder of cakupan.warehouse.
DEFAULT_WAREHOUSE = "./data/cakupan.duckdb"
# The default of versions before ./data/: a warehouse left there is named when the default is used.
EARLIER_DEFAULT_WAREHOUSE = "./warehouse/cakupan.duckdb"

# The Prefect global concurrency limit that serialises writers when a server is configured.
WAREHOUSE_CONCURRENCY_LIMIT = "cakupan-warehouse"

# Freshness of the deliveries (nightly only): a kind whose newest loaded extract is more than
# this many days before the run date is late (a warning and a banner) or stale (the run fails).
LATE_DAYS_ENV = "CAKUPAN_LATE_DAYS"
STALE_DAYS_ENV = "CAKUPAN_STALE_DAYS"


@dataclass(frozen=True)
class FreshnessThresholds:
    late_days: int = 1
    stale_days: int = 3


def freshness_thresholds() -> FreshnessThresholds:
    """A run's are in its Settings; `cakupan report`, no run, reads them at its entry."""
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


# What a run creates (the warehouse with hashed identifiers and wages, reports, Data Docs)
# is for its owner only, whatever the umask of the shell, cron or service that started it.
OWNER_ONLY_UMASK = 0o077


def owner_only_files() -> None:
    os.umask(OWNER_ONLY_UMASK)


def today_jakarta() -> date:
    return datetime.now(JAKARTA).date()


def parse_date(value: str) -> date:
    """A date as an option or a parameter gives it (YYYY-MM-DD); the caller names which."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def check_date_order(first: date, last: date, first_name: str, as_written: tuple[str, str] | None = None) -> None:
    """A range's end on or after its start; the message names the start as the caller calls it
    and shows both dates `as_written` when given (20250201 stays 20250201)."""
    if last < first:
        shown_first, shown_last = as_written or (first, last)
        raise ValueError(f"{shown_last} is before {first_name} {shown_first}")


@dataclass(frozen=True)
class WorkerSettings:
    """Where a run prepares its slices, settled once at the run's entry (a flow run's start:
    its parameters, else the environment), checked there, and passed to the runner."""

    workers: int | None  # local worker processes; None when a Dask cluster prepares the slices
    dask_address: str | None


def worker_settings(dask_address: str | None, workers: Callable[[], int]) -> WorkerSettings:
    """`dask_address`, else CAKUPAN_DASK_ADDRESS; without one, `workers()` local workers (the
    caller's parameter, else `workers_from_environment`), asked for only then."""
    dask_address = dask_address or os.environ.get(DASK_ADDRESS_ENV) or None
    return WorkerSettings(None if dask_address else workers(), dask_address)


@dataclass(frozen=True)
class Settings:
    """A run's settings, read from the environment and checked once at the run's entry (the
    command, before it starts a flow; a flow run's start, for a deployment's runs too), then
    passed down; to tasks as a plain, picklable value. Each run reads them anew, so a
    deployment hears a changed value on its next run. The limits a worker applies to itself
    are not here: see `WorkerLimits`."""

    workers: WorkerSettings | None  # None where no slices are prepared
    writer_wait_seconds: float
    settle_seconds: float
    freshness: FreshnessThresholds
    reference: ReferenceFiles
    duckdb_memory_limit: str


def run_settings(workers: WorkerSettings | None = None) -> Settings:
    """The run's settings from the environment; a bad value raises ValueError naming its variable."""
    return Settings(
        workers=workers,
        writer_wait_seconds=_writer_wait_seconds(),
        settle_seconds=_settle_seconds(),
        freshness=freshness_thresholds(),
        reference=_reference_files(),
        duckdb_memory_limit=duckdb_memory_limit(),
    )


def pii_key_secret() -> str:
    """The pseudonymisation key as set, or "" when unset."""
    return os.environ.get(PII_KEY_ENV, "")


def workers_from_environment() -> int:
    """Local worker processes: CAKUPAN_WORKERS, else the CPU cores this process may use."""
    value = os.environ.get(WORKERS_ENV)
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f"{WORKERS_ENV}={value!r}: expected a whole number of at least 1")
        return count
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _writer_wait_seconds() -> float:
    return float(os.environ.get(WRITER_WAIT_ENV, "600"))


def _settle_seconds() -> float:
    """How long a landed file must stay unchanged (size and mtime) before it is due."""
    text = os.environ.get(SETTLE_SECONDS_ENV, "").strip()
    if not text:
        return 120.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{SETTLE_SECONDS_ENV}={text!r}: expected a number of seconds, 0 or more")
    return seconds


# Province-scale loads and rebuilds otherwise take most of the machine (DuckDB's own default
# is 80% of RAM), and DuckDB fills what it is given. The scale-10 year's rebuild took 11.6 s
# with 1 GB, 10.8 s with 2 GB, 18 s with 512 MB (README, Workers).
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"


def duckdb_memory_limit() -> str:
    """A run's is in its Settings; the commands that run no flow (report, explain) read it at their entry."""
    return os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_DUCKDB_MEMORY_LIMIT)


@dataclass(frozen=True)
class WorkerLimits:
    """What a worker allows itself while it prepares a slice. Read on the worker, once per slice
    (`worker_limits`), not passed from the run: a Dask worker has an environment of its own,
    sized for its machine. The pseudonymisation key is also read there, once per slice, but
    is not part of this value (warehouse/pii.key_from_env): it must never travel as a task
    parameter nor show in a value's repr."""

    # Held once per worker process beside the writer's, and filled: the scale-10 year's workers
    # peaked at 1.2 GB each with 1 GB, 0.46 GB with 256 MB, its ingest as fast; 160 MB cost 10 s.
    staging_memory_limit: str = "256MB"
    # A province's initial extract is ~2 GB: twice that is still a file, not an accident.
    max_file_bytes: int = 4_000_000_000


def worker_limits() -> WorkerLimits:
    """A worker's limits from its own environment; a bad value raises ValueError naming its variable."""
    defaults = WorkerLimits()
    value = os.environ.get(MAX_FILE_BYTES_ENV, str(defaults.max_file_bytes))
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ValueError(f"{MAX_FILE_BYTES_ENV}={value!r}: expected a positive number of bytes")
    return WorkerLimits(os.environ.get(STAGING_MEMORY_LIMIT_ENV, defaults.staging_memory_limit), limit)


# The readings of the city's target: x1.10 a year, or +10 percentage points a year.
TARGET_READINGS = ("relative", "points")


@dataclass(frozen=True)
class ReferenceFiles:
    """Which reference files are read: the city's target reading and a folder whose files
    replace the shipped ones of the same name."""

    targets: str = "relative"
    override_dir: Path | None = None


def _reference_files() -> ReferenceFiles:
    reading = os.environ.get(TARGETS_ENV, "relative")
    if reading not in TARGET_READINGS:
        raise ValueError(f"{TARGETS_ENV}={reading!r}: expected one of {', '.join(TARGET_READINGS)}")
    return ReferenceFiles(reading, _reference_dir())


def generator_reference() -> ReferenceFiles:
    """The reference files the generator reads, at the entry of `cakupan generate` and `demo`:
    CAKUPAN_REFERENCE_DIR's replacements (it reads no target, so CAKUPAN_TARGETS is not asked for)."""
    return ReferenceFiles(override_dir=_reference_dir())


def _reference_dir() -> Path | None:
    value = os.environ.get(REFERENCE_DIR_ENV)
    return Path(value) if value else None


@dataclass(frozen=True)
class PrefectApi:
    url: str
    source: str  # where the URL was set, as a message names it


def prefect_api() -> PrefectApi | None:
    """Prefect's API URL as Prefect itself will use it (the environment, else the active
    profile of `prefect config set`, else Prefect's other settings files), and where it was set;
    read here for the command's early checks. None when no server is configured."""
    from prefect.settings import get_current_settings
    from prefect.settings.profiles import load_current_profile

    url = get_current_settings().api.url
    if not url:
        return None
    if os.environ.get("PREFECT_API_URL"):
        return PrefectApi(url, "PREFECT_API_URL in the environment")
    profile = load_current_profile()
    if any(setting.name == "PREFECT_API_URL" for setting in profile.settings):
        return PrefectApi(url, f"PREFECT_API_URL of Prefect profile '{profile.name}' ({profile.source})")
    return PrefectApi(url, "Prefect's settings (prefect.toml, pyproject.toml or .env)")


def report_dir(warehouse: str | Path) -> Path:
    """Reports live beside the warehouse file they describe."""
    return Path(warehouse).parent / "report"


def data_docs_dir(warehouse: str | Path) -> Path:
    return Path(warehouse).parent / "data_docs"


def scratch_root(warehouse: str | Path) -> Path:
    """Every run's scratch folder lives here, beside the warehouse: workers on other machines
    reach it where the folder is shared, and the next run finds what a killed run left."""
    return Path(warehouse).parent / "scratch"


def scratch_dir(warehouse: str | Path, run_id: str) -> Path:
    """A run's scratch folder: its workers' staging databases (raw rows, while a slice is
    prepared) and the Parquet they leave for the writer (pseudonymised rows only)."""
    return scratch_root(warehouse) / run_id


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
