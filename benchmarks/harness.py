"""The benchmarks' commands and the environment they run in.

Every benchmark runs the installed `cakupan` of this interpreter's environment, with a fixed
key and its own PREFECT_HOME, none of the caller's PREFECT_* or CAKUPAN_* settings.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cakupan.prefect_server import RunningServer, standalone_prefect_server

BENCHMARKS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CAKUPAN = str(BIN / "cakupan")
BASELINE = str(BENCHMARKS / "baseline.py")
SAME_WORK = str(BENCHMARKS / "same_work.py")
WRITER = str(BENCHMARKS / "writer.py")
# Any fixed key will do: person counts only need the same key across loads.
PII_KEY = "cakupan-benchmark-key-not-for-production"


def cakupan_env(api_url: str | None, prefect_home: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PREFECT_", "CAKUPAN_"))
    }
    env.update(
        CAKUPAN_PII_KEY=PII_KEY,
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@contextmanager
def prefect_server(home: Path, log_path: Path) -> Iterator[RunningServer]:
    """A Prefect server of the benchmark's own (a free port, PREFECT_HOME `home`), its output in `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log, standalone_prefect_server(home, cakupan_env(None, home), log) as server:
        print(f"started a Prefect server at {server.api_url}", flush=True)
        yield server
