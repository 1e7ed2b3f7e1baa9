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
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
from prefect.context import refresh_global_settings_context
from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

from cakupan.errors import Refused

PR_SET_PDEATHSIG = 1
UVICORN_CANNOT_BIND = 3  # the port was taken between choosing and binding it
POLL_SECONDS = 0.2
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
            port = _free_port()
            server = _start(port, output)
            url = f"http://127.0.0.1:{port}/api"
            try:
                if _answers(url, server, deadline):
                    break
                if server.poll() is None or server.returncode != UVICORN_CANNOT_BIND:
                    raise EmbeddedServerFailed(_why(server, wait_seconds, output))
            except BaseException:
                _stop(server)
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
            _stop(server)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(port: int, output) -> subprocess.Popen:
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: no dlopen in the child
    parent = os.getpid()

    def die_with_parent() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on",
        ],
        env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"},
        stdout=output, stderr=output, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )


def _answers(url: str, server: subprocess.Popen, deadline: float) -> bool:
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(POLL_SECONDS)
    return False


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
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        service.drain_all(timeout=DRAIN_SECONDS, at_exit=False)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
