"""What flows/compat.py relies on in Prefect's internals still holds (checked against prefect
3.9.1): each test fails when an upgrade changes one of them."""

import ast
import importlib
import inspect
import io
import logging
import re
from pathlib import Path
from uuid import uuid4

from prefect.exceptions import FailedRun
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.logging.loggers import flow_run_logger
from prefect.server.api.server import SubprocessASGIServer
import prefect.context
from prefect.states import Failed
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from rich.console import Console

from cakupan.flows import compat


def test_local_workers_is_the_runners_max_workers():
    assert compat.local_workers(ProcessPoolTaskRunner(max_workers=3)) == 3
    assert compat.local_workers(ThreadPoolTaskRunner(max_workers=1)) == 1


def test_the_embedded_server_starts_as_prefects_own_temporary_server_does():
    """Prefect starts its own temporary server with the same app factory and variables."""
    launch = inspect.getsource(SubprocessASGIServer._run_uvicorn_command)
    assert re.search(rf'"--factory",\s*"{re.escape(compat.EMBEDDED_SERVER_APP)}"', launch)
    for name, value in compat.EMBEDDED_SERVER_ENVIRONMENT.items():
        assert f'"{name}": "{value}"' in launch, name
    module, factory = compat.EMBEDDED_SERVER_APP.split(":")
    create_app = getattr(importlib.import_module(module), factory)
    assert callable(create_app) and {"ephemeral", "final"} <= set(inspect.signature(create_app).parameters)
    assert 'os.getenv("PREFECT__SERVER_EPHEMERAL")' in inspect.getsource(create_app)
    assert 'os.getenv("PREFECT__SERVER_FINAL")' in inspect.getsource(create_app)


def test_queued_logs_and_events_can_be_sent_now_not_at_exit():
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        assert {"timeout", "at_exit"} <= set(inspect.signature(service.drain_all).parameters), service
    compat.send_queued_logs_and_events(timeout=1)  # nothing queued, no server: returns


def test_a_failed_state_raised_again_is_logged_on_the_flow_runs_logger_and_dropped():
    assert flow_run_logger(flow_run_id=uuid4()).logger.name == compat.FLOW_RUNS_LOGGER
    engine = inspect.getsource(importlib.import_module("prefect.flow_engine").run_flow)
    assert "Engine execution exited with unexpected exception" in engine and "error_logger" in engine
    try:
        Failed(message="2 file(s) rejected").result()
    except FailedRun as raised:
        echo = logging.LogRecord(compat.FLOW_RUNS_LOGGER, logging.ERROR, __file__, 1, "Engine execution exited",
                                 None, (FailedRun, raised, raised.__traceback__))
    crash = logging.LogRecord(compat.FLOW_RUNS_LOGGER, logging.ERROR, __file__, 1, "crash", None,
                              (TypeError, TypeError("x"), None))

    compat.drop_failed_state_echo()
    compat.drop_failed_state_echo()
    logger = logging.getLogger(compat.FLOW_RUNS_LOGGER)
    assert sum(isinstance(f, compat.FailedStateIsNoCrash) for f in logger.filters) == 1
    assert not logger.filter(echo) and logger.filter(crash)


def test_a_prefect_console_handler_prints_through_the_console_it_is_given():
    printed = io.StringIO()
    handler = PrefectConsoleHandler(stream=io.StringIO())
    assert compat.print_log_lines_on(handler, Console(file=printed, width=200))
    handler.emit(logging.LogRecord("prefect.test", logging.WARNING, __file__, 1, "a log line", None, None))
    assert "a log line" in printed.getvalue()
    assert not compat.print_log_lines_on(logging.StreamHandler(io.StringIO()), Console(file=printed))


def test_the_concurrency_lease_is_kept_by_a_context_manager_with_these_parameters():
    parameters = inspect.signature(compat.maintain_concurrency_lease).parameters
    assert list(parameters)[:3] == ["lease_id", "lease_duration", "raise_on_lease_renewal_failure"]
    assert hasattr(compat.maintain_concurrency_lease(uuid4(), 60.0), "__enter__")


def test_refreshing_the_settings_context_hears_a_changed_api_url(monkeypatch):
    # The global context, which a process without temporary settings reads (the embedded
    # server's command); another test's temporary settings may be active in this process.
    def global_api_url() -> str | None:
        return prefect.context.GLOBAL_SETTINGS_CONTEXT.settings.api.url

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    compat.refresh_global_settings_context()
    try:
        assert global_api_url() == "http://127.0.0.1:9/api"
    finally:
        monkeypatch.undo()
        compat.refresh_global_settings_context()
    assert global_api_url() != "http://127.0.0.1:9/api"


def test_no_other_module_imports_prefect_or_gx_private_names():
    """Prefect's private modules, names and variables only in flows/compat.py; GX's only in
    ingest/validate/gx_duckdb.py (the Prefect-free library cannot import the former)."""
    root = Path(__file__).parents[2]
    allowed = {"prefect": root / "flows" / "compat.py", "great_expectations": root / "ingest" / "validate" / "gx_duckdb.py"}
    reached = []
    for folder in ("cakupan", "flows", "ingest", "warehouse", "transforms", "report", "expectations"):
        for source in (root / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            if "PREFECT__" in text and source != allowed["prefect"]:
                reached.append(f"{source}: PREFECT__")
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                library = node.module.split(".")[0]
                private = any(part.startswith("_") for part in node.module.split(".")) or any(
                    alias.name.startswith("_") for alias in node.names)
                if library in allowed and private and source != allowed[library]:
                    reached.append(f"{source}:{node.lineno}: {node.module}")
    assert not reached


def test_an_entered_process_pool_runner_can_fork_its_processes_from_the_forkserver():
    def mark():
        pass

    runner = ProcessPoolTaskRunner(max_workers=2, initializer=mark)
    with runner:
        spawning = runner._executor
        compat.fork_from_server(runner)
        forking = runner._executor
        assert forking is not spawning and forking._mp_context.get_start_method() == "forkserver"
        assert forking._max_workers == 2
        assert forking._initializer is spawning._initializer and forking._initargs == spawning._initargs
        assert mark in forking._initargs  # Prefect's initializer runs ours after its own
