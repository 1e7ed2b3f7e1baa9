"""A flow run started by the command: the Prefect API and the Dask scheduler checked before any
work, the run recorded on the configured Prefect server or on the command's own embedded one,
and its end turned into an exit status and one line."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Optional

from cakupan.console import step
from cakupan.errors import EXIT_FAILED, EXIT_USAGE, Stop
from cakupan.preflight import prefect_api_problem


def check_settings(workers: Optional[int], dask_address: Optional[str]) -> None:
    """The run's settings (config.Settings), checked before any work: a bad CAKUPAN_* value is a
    usage error. The flow settles them again at its start, as for a deployment's runs, whose
    parameters are JSON."""
    from cakupan.errors import Refused
    from cakupan.parameters import settings_of_run

    try:
        settings_of_run(workers, dask_address)
    except Refused as problem:
        raise Stop(str(problem), EXIT_USAGE) from None


def run_flow(flow_call, dask_address: Optional[str] = None, workers: Optional[int] = None) -> None:
    """Run a flow and turn its end into an exit status and one or two lines."""
    from cakupan.flows.exclusive import prefect_server_configured
    from cakupan.flows.runner import check_dask_scheduler
    from cakupan.errors import Refused

    check_settings(workers, dask_address)
    if problem := prefect_api_problem():
        raise Stop(problem, EXIT_USAGE)
    if dask_address:
        try:
            check_dask_scheduler(dask_address)  # before any work
        except Refused as problem:
            raise Stop(str(problem), EXIT_USAGE) from None

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
        state = flow_call()
    if state.is_completed():
        return
    message = state.message or "the run failed"
    raise Stop(message.replace("Flow run encountered an exception: ", ""), EXIT_FAILED)
