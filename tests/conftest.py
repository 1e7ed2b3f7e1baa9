"""Shared fixtures: a temporary landing of extract CSV files, valid rows, the test key, a
warehouse path; a real Prefect server on 127.0.0.1 (a free port) started for the tests that
need one and stopped after; the real command; a small generated landing for the flows and the
command. Tests are marked by what they start (see `pytest_collection_modifyitems`)."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cakupan.ingest.audit import FileOutcome
from cakupan.ingest.discover import look, plan
from cakupan.ingest.extracts import SPEC_COLUMNS, parse_name
from cakupan.ingest.load import load_chunk
from cakupan.ingest.worker import prepare_slice
from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import KEY_VARIABLE, PiiKey
from tests.support import TEST_KEY, TEST_SECRET, Command, employer_row, enrolment_row, kpj, nik

# A suite started in the background (`nohup ... &`) inherits SIGINT ignored, and so would every
# command it starts: the tests that stop `cakupan serve` as Ctrl-C does would wait out their grace.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Runs prepare slices in their own process unless a test asks for workers (tests/flows/test_workers.py
# runs the default, the CPU cores): a worker process starts GX and Prefect anew, seconds per run.
os.environ.setdefault("CAKUPAN_WORKERS", "1")
# Tests write extracts just before a run: due at once. The tests of the settle rule set their own
# (tests/faults/test_delivery.py); the generator's files carry their delivery night's mtime anyway.
os.environ.setdefault("CAKUPAN_SETTLE_SECONDS", "0")
# Under pytest-xdist (scripts/test) each test process has a Prefect home of its own: the embedded
# runs of its tests share no SQLite database with another process's runs.
if xdist_worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PREFECT_HOME"] = str(Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect")) / f"tests-{xdist_worker}")


# A test that uses one of these fixtures gets its marker, and every test of these markers is
# `slow`: `pytest -m "not slow"` is the fast tier of in-process tests (README).
MARKER_OF_FIXTURE = {
    "cakupan_command": "cli", "embedded_command": "cli", "served": "cli",
    "prefect_server": "server",
    "dask_cluster": "dask",
    "browser": "browser",
}
SLOW_MARKERS = ("cli", "server", "dask", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)
        if any(item.get_closest_marker(marker) for marker in SLOW_MARKERS):
            item.add_marker("slow")


@pytest.fixture
def employer():
    """employer(n, **fields): the row of employer n (npp n, 8 digits) of `employer_row`."""

    def make(n: int = 1, **fields) -> dict:
        return employer_row(f"{n:08d}", **fields)

    return make


@pytest.fixture
def enrolment():
    """enrolment(n, **fields): the row of member n (kpj n, nik n) of `enrolment_row`."""

    def make(n: int = 1, **fields) -> dict:
        return enrolment_row(kpj(n), nik(n), **fields)

    return make


@pytest.fixture
def tmp_landing(tmp_path) -> Path:
    """An empty landing folder (named apart from the flows' generated `landing`)."""
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def write_extract(tmp_landing):
    """Write an extract file into the landing: rows as dicts (by header) or lists (raw fields).

    `newline`, `bom` and a `.gz` name shape the bytes; `header` defaults to the spec columns.
    A row's `updated_at` None is the morning (08:00) of the extract date in the file's name.
    """

    def write(
        name: str,
        rows=(),
        *,
        header: list[str] | None = None,
        newline: str = "\n",
        bom: bool = False,
    ) -> Path:
        kind = name.split("_", 1)[0]
        header = list(header or SPEC_COLUMNS[kind])
        extract_date = re.search(r"_(\d{4})(\d\d)(\d\d)", name)
        morning = extract_date and "{}-{}-{} 08:00:00".format(*extract_date.groups())
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(header)
        for row in rows:
            if isinstance(row, dict):
                row = [morning if column == "updated_at" and row.get(column, "") is None else row.get(column, "")
                       for column in header]
            writer.writerow(row)
        content = (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")
        if name.endswith(".gz"):
            content = gzip.compress(content)
        path = tmp_landing / name
        path.write_bytes(content)
        return path

    return write


@pytest.fixture
def short_tmpdir() -> Path:
    """A private $TMPDIR short enough for the forkserver's socket (pytest's tmp_path is not)."""
    folder = Path(tempfile.mkdtemp(prefix="t-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """The path of a warehouse file in a folder of its own (the first connection creates it)."""
    return tmp_path / "warehouse" / "cakupan.duckdb"


@pytest.fixture
def pii_key(monkeypatch) -> PiiKey:
    """The key, also set in the environment as a run (and its workers) get it."""
    monkeypatch.setenv(KEY_VARIABLE, TEST_SECRET)
    return TEST_KEY


@pytest.fixture
def ingest(tmp_path):
    """Runs the ingest library end to end in the test process, as the flows do on their
    workers and writer: plan, prepare every slice, load chunk by chunk.

    ingest(landing, warehouse (a path or an open connection), names, key, run_id="run-1",
    pages=None, **plan options) -> {file name: outcome}
    """
    scratch = tmp_path / "scratch"

    def run(landing: Path, warehouse, names: list[str], key: PiiKey | None, run_id: str = "run-1",
            pages: Path | None = None, **plan_options) -> dict[str, FileOutcome]:
        files = [look(landing / name, *parse_name(name)) for name in names]
        opened = contextlib.nullcontext(warehouse) if isinstance(warehouse, duckdb.DuckDBPyConnection) else connect(warehouse)
        outcomes: dict[str, FileOutcome] = {}
        with opened as con:
            for chunk in plan(files, **plan_options):
                results = [prepare_slice(landing, work, scratch / run_id, key, pages) for work in chunk.slices]
                outcomes |= {o.name: o for o in load_chunk(con, results, run_id)}
        return outcomes

    return run


# --- Prefect server and a generated landing, for the flows and the command ---

QUIET = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
}


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """Yields the API URL of a server of our own; its state lives in a temporary PREFECT_HOME."""
    from cakupan.prefect_server import standalone_prefect_server

    with standalone_prefect_server(tmp_path_factory.mktemp("prefect-home"), {**os.environ, **QUIET}) as server:
        yield server.api_url


def stop_process_group(proc: subprocess.Popen, first_signal: int, grace_seconds: float = 20) -> None:
    """Ask a process started with start_new_session=True (and its children) to stop; kill if it lingers."""
    os.killpg(proc.pid, first_signal)
    try:
        proc.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="session")
def stop_started_process():
    return stop_process_group


@pytest.fixture(scope="session")
def prefect_api(prefect_server):
    """In-process flows talk to the test's server; the writer limit exists as `cakupan serve` makes it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from cakupan.flows.deployments import ensure_writer_limit

    from prefect.logging.handlers import APILogHandler

    with temporary_settings({PREFECT_API_URL: prefect_server}):
        ensure_writer_limit()
        yield prefect_server
        APILogHandler().flush()  # send the last run logs while the server is still up


@pytest.fixture(scope="session")
def cakupan_command(prefect_api) -> Command:
    """Run the real command against the test's Prefect server (`embedded=True`: its own)."""
    return Command(prefect_api)


@pytest.fixture(scope="session")
def embedded_command() -> Command:
    """Run the real command with no Prefect server of the tests (it starts its own if it needs one)."""
    return Command()


@pytest.fixture(scope="session")
def generated_landing(tmp_path_factory):
    """Twelve days of a small synthetic city (read-only: copy before changing it)."""
    from cakupan.generator import generate

    out = tmp_path_factory.mktemp("landing")
    generate(out, date(2025, 3, 1), date(2025, 3, 12), scale=0.01, seed=7)
    return out


@pytest.fixture
def landing(generated_landing, tmp_path):
    """A copy of the generated landing, free to change."""
    return Path(shutil.copytree(generated_landing, tmp_path / "landing"))

