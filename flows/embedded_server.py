"""The command's own Prefect server when none is configured: started here, tied to the command.

Without PREFECT_API_URL Prefect would start a temporary server itself, but a command killed
with kill -9 leaves that uvicorn child running, and a slow start (a new PREFECT_HOME migrates
its database first, slowly on a busy machine) ends in a RuntimeError after 20 s. Here the
kernel kills the child when the command dies (PR_SET_PDEATHSIG), the start may take
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (the command raises its default), and a start
that takes longer ends in one line saying what to do.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

from cakupan.errors import Refused
from cakupan.flows.compat import (
    EMBEDDED_SERVER_APP, EMBEDDED_SERVER_ENVIRONMENT, refresh_global_settings_context, send_queued_logs_and_events,
)
from cakupan.prefect_server import answers, free_port, stop

PR_SET_PDEATHSIG = 1
UVICORN_CANNOT_BIND = 3  # the port was taken between choosing and binding it
STOP_SECONDS = 10
DRAIN_SECONDS = 10

_api_url: str | None = None


class EmbeddedServerFailed(Refused):
    """The embedded Prefect server did not answer in time."""


def embedded_api_url() -> str | None:
    """The API of this process's embedded server, while it runs."""
    return _api_url


@contextmanager
def embedded_prefect_server() -> Iterator[str]:
    """Run a private Prefect server for this process and point Prefect at it (PREFECT_API_URL)."""
    global _api_url
    wait_seconds = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    deadline = time.monotonic() + wait_seconds
    with tempfile.TemporaryFile() as output:
        while True:
            port = free_port()
            server = _start(port, output)
            url = f"http://127.0.0.1:{port}/api"
            try:
                if answers(url, server, deadline):
                    break
                if server.poll() is None or server.returncode != UVICORN_CANNOT_BIND:
                    raise EmbeddedServerFailed(_why(server, wait_seconds, output))
            except BaseException:
                stop(server, STOP_SECONDS)
                raise
        os.environ["PREFECT_API_URL"], _api_url = url, url
        refresh_global_settings_context()
        try:
            yield url
        finally:
            _send_what_is_queued()
            del os.environ["PREFECT_API_URL"]
            _api_url = None
            refresh_global_settings_context()
            stop(server, STOP_SECONDS)


def _start(port: int, output) -> subprocess.Popen:
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: no dlopen in the child
    parent = os.getpid()

    def die_with_parent() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", EMBEDDED_SERVER_APP,
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on",
        ],
        env={**os.environ, **EMBEDDED_SERVER_ENVIRONMENT},
        stdout=output, stderr=output, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )


def _why(server: subprocess.Popen, wait_seconds: float, output) -> str:
    remedy = (
        "raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (a new PREFECT_HOME on a busy machine "
        "starts slowest), or set PREFECT_API_URL to a running Prefect server (`prefect server start`)"
    )
    if server.poll() is None:
        return f"the embedded Prefect server did not answer within {wait_seconds:g} s: {remedy}"
    output.seek(0)
    lines = [line for line in output.read().decode(errors="replace").splitlines() if line.strip()]
    last = f" ({lines[-1].strip()})" if lines else ""
    return f"the embedded Prefect server stopped with status {server.returncode}{last}: {remedy}"


def _send_what_is_queued() -> None:
    """Send the run's last logs and events while the server still answers: at exit Prefect
    would retry them against the stopped server for more than a minute."""
    send_queued_logs_and_events(DRAIN_SECONDS)
