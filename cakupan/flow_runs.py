"""A flow run started by the command: the Prefect API and the Dask scheduler checked before any
work, the run recorded on the configured Prefect server or on the command's own embedded one,
and its end turned into an exit status and one line."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Optional

from cakupan.config import Settings
from cakupan.console import step
from cakupan.errors import EXIT_FAILED, EXIT_USAGE, Refused, Stop
from cakupan.flows.worker_server import start_worker_server, stop_worker_server
from cakupan.preflight import prefect_api_problem


def check_settings(workers: Optional[int], dask_address: Optional[str]) -> Settings:
    """The run's settings, checked before any work: a bad CAKUPAN_* value is a usage error. The
    flow settles them again at its start, as for a deployment's runs, whose parameters are JSON."""
    from cakupan.parameters import settings_of_run

    try:
        return settings_of_run(workers, dask_address)
    except Refused as problem:
        raise Stop(str(problem), EXIT_USAGE) from None


def run_flow(flow_call, dask_address: Optional[str] = None, workers: Optional[int] = None) -> None:
    """Run a flow (`flow_call` imports it: after the checks) and turn its end into an exit
    status and one or two lines. Local worker processes are forked from a server started
    here, so that its imports go on beside the run's own start-up (flows/worker_server.py)."""
    settings = check_settings(workers, dask_address).workers
    if not settings.dask_address and settings.workers > 1:
        # first: checking the Prefect API imports Prefect (~1 s), which the server's imports overlap
        start_worker_server()  # if it cannot run, the run says so (flows/runner.py)
    try:
        if problem := prefect_api_problem():
            raise Stop(problem, EXIT_USAGE)
        if settings.dask_address:
            from cakupan.flows.runner import check_dask_scheduler

            try:
                check_dask_scheduler(settings.dask_address)  # before any work
            except Refused as problem:
                raise Stop(str(problem), EXIT_USAGE) from None
        # the report's imports (matplotlib, ~0.5 s), out of the workers' (flows/steps.py): here
        # they overlap the forkserver's; at the report step they would hold up the run's end
        import cakupan.flows.tasks.report  # noqa: F401

        state = _on_prefect(flow_call)
    finally:
        stop_worker_server()
    if state.is_completed():
        return
    message = state.message or "the run failed"
    raise Stop(message.replace("Flow run encountered an exception: ", ""), EXIT_FAILED)


def _on_prefect(flow_call):
    """The flow's end state, run against the configured Prefect server or an embedded one."""
    from cakupan.flows.exclusive import prefect_server_configured

    with ExitStack() as stack:
        if prefect_server_configured():
            from cakupan.flows.deployments import ensure_writer_limit

            ensure_writer_limit()
        else:
            from cakupan.flows.embedded_server import embedded_prefect_server

            try:
                stack.enter_context(embedded_prefect_server())
            except Refused as problem:
                raise Stop(str(problem), EXIT_FAILED) from None
        step("starting the run" if prefect_server_configured() else "starting the run (embedded Prefect server)")
        return flow_call()
