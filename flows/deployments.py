"""Deployments, declared apart from the flows: nightly on a schedule, backfill on demand."""

from __future__ import annotations

from collections.abc import Callable

import prefect
from prefect.client.orchestration import get_client
from prefect.schedules import Cron

from cakupan.config import WAREHOUSE_CONCURRENCY_LIMIT
from cakupan.flows.backfill import backfill
from cakupan.flows.nightly import nightly

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE = "Asia/Jakarta"


def deployments(landing: str, warehouse: str) -> list:
    where = {"landing": landing, "warehouse": warehouse}
    return [
        nightly.to_deployment(
            name="nightly",
            schedule=Cron(NIGHTLY_CRON, timezone=TIMEZONE),
            parameters=where,
            description="Load what landed since the last run; rebuild the published tables; write the report.",
        ),
        backfill.to_deployment(
            name="backfill",
            parameters=where,
            description="Reload every file dated from `start` to `end` with the current rules, then rebuild.",
        ),
    ]


def ensure_writer_limit() -> None:
    """One slot: runs take it strictly, so it must exist before any run is served."""
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(WAREHOUSE_CONCURRENCY_LIMIT, limit=1)


def described(deployment) -> str:
    """One line: the deployment, when it runs, where it reads and writes."""
    name = f"{deployment.flow_name}/{deployment.name}"
    where = f"landing {deployment.parameters['landing']}, warehouse {deployment.parameters['warehouse']}"
    if not deployment.schedules:
        return (
            f"registered {name}: on demand; run one with: prefect deployment run {name} "
            f"-p start=YYYY-MM-DD -p end=YYYY-MM-DD ({where})"
        )
    schedule = deployment.schedules[0].schedule
    hour, minute = int(schedule.cron.split()[1]), int(schedule.cron.split()[0])
    return (
        f"registered {name}: every day at {hour:02d}:{minute:02d} {schedule.timezone} "
        f"(cron {schedule.cron}) ({where})"
    )


def serve(landing: str, warehouse: str, announce: Callable[[str], None]) -> None:
    ensure_writer_limit()
    served = deployments(landing, warehouse)
    for deployment in served:
        announce(described(deployment))
    prefect.serve(*served, print_starting_message=False)
