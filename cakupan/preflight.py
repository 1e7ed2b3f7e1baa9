"""What a command checks before any work, so that what would fail every run is said at once,
one line each, as a usage error: the landing folder, the key, the Prefect API, and for
`cakupan serve` everything its served runs will need."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from cakupan import config
from cakupan.errors import EXIT_USAGE, Stop


def require_landing(landing: Path) -> None:
    if not landing.is_dir():
        raise typer.BadParameter(f"folder {str(landing)!r} does not exist", param_hint="--landing")


def require_pii_key(warehouse: Path) -> None:
    """A key is set, and strong enough if it will key a new warehouse (the run checks an old one's)."""
    from cakupan.errors import Refused
    from cakupan.warehouse.pii import key_from_env, verify_key

    try:
        key = key_from_env()
        if not warehouse.exists():
            verify_key(key, recorded=[])
    except Refused as problem:
        raise Stop(str(problem), EXIT_USAGE) from None


def prefect_api_problem() -> Optional[str]:
    """The configured Prefect API does not answer: one line naming its URL and where it was set."""
    import urllib.error
    import urllib.request

    api = config.prefect_api()
    if api is None:
        return None
    try:
        with urllib.request.urlopen(f"{api.url.rstrip('/')}/health", timeout=10):
            return None
    except urllib.error.HTTPError:
        return None  # a server answers; what it says is for Prefect's client
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return (f"Prefect API {api.url} does not answer ({getattr(reason, 'strerror', None) or reason}); "
                f"the URL comes from {api.source}: start that server, or point PREFECT_API_URL at a running one")


def serve_problems(landing: Path, warehouse: Path) -> list[str]:
    """What would fail every served run, found before serving: one line each."""
    from cakupan.errors import Refused
    from cakupan.warehouse.connection import WarehouseBusy
    from cakupan.warehouse.integrity import check_intact
    from cakupan.warehouse.pii import key_from_env, verify_key_for

    problems = []
    if config.prefect_api() is None:
        problems.append(
            "cakupan serve needs a Prefect server: start one (`prefect server start`) and set PREFECT_API_URL "
            "(see README)"
        )
    elif problem := prefect_api_problem():
        problems.append(problem)
    if not landing.is_dir():
        problems.append(f"--landing: folder {str(landing)!r} does not exist")
    folder = next(parent for parent in warehouse.absolute().parents if parent.exists())
    writable = os.access(warehouse, os.W_OK) if warehouse.exists() else folder.is_dir() and os.access(folder, os.W_OK)
    if not writable:
        problems.append(f"--warehouse: cannot write {warehouse} ({folder} is not a writable folder)")
    try:
        key_from_env()
        if writable:
            check_intact(warehouse, config.duckdb_memory_limit())
            verify_key_for(warehouse, config.duckdb_memory_limit())
    except WarehouseBusy:
        pass  # a run is writing it now; every run checks it again before writing
    except Refused as problem:
        problems.append(str(problem))
    return problems
