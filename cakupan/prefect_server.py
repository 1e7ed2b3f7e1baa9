"""A Prefect server of our own on 127.0.0.1: the one way to pick its port, wait until it
answers and stop it.

`standalone_prefect_server` runs `prefect server start` (API and its services, as a data
engineer runs it) on a free port with a PREFECT_HOME of its own: the tests' server and the
benchmarks'. The command's embedded server (`embedded_server.py`) is another kind of process,
the API app alone in a child the kernel kills with the command, but it picks its port, waits
for it and stops it with the functions here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import httpx

POLL_SECONDS = 0.2
STANDALONE_START_SECONDS = 180
# the grace a stopped server gets before it is killed; ours stop in ~0.2 s (SQLite state, whole after a kill)
STANDALONE_STOP_SECONDS = 30
# Settings of a server started for tests and benchmarks: nothing sent out, no UI to build.
QUIET_SERVER = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false"}


@dataclass(frozen=True)
class RunningServer:
    api_url: str
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(api_url: str, server: subprocess.Popen, deadline: float) -> bool:
    """Whether the server's health check answers before `deadline` (monotonic) while it lives."""
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if client.get(f"{api_url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(POLL_SECONDS)
    return False


def stop(server: subprocess.Popen, grace_seconds: float, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after `grace_seconds`; with `group`, to the process group of a
    server started with start_new_session (its workers too, also when its leader is gone)."""
    if not group and server.poll() is not None:
        return
    send = (lambda sig: os.killpg(server.pid, sig)) if group else server.send_signal
    try:
        send(signal.SIGTERM)
        server.wait(timeout=grace_seconds)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        server.wait()


@contextmanager
def standalone_prefect_server(
    home: Path, environment: dict[str, str] | None = None, output: IO | int = subprocess.DEVNULL,
    start_seconds: float = STANDALONE_START_SECONDS,
) -> Iterator[RunningServer]:
    """`prefect server start` on 127.0.0.1 and a free port, its state in `home`, for the block.

    `environment` (default: this process's) is the server's, without PREFECT_API_URL and with
    QUIET_SERVER unless it sets those; `output` takes its stdout and stderr."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**QUIET_SERVER, **(os.environ if environment is None else environment), "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    prefect = str(Path(sys.executable).with_name("prefect"))
    server = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=output, stderr=subprocess.STDOUT if output is not subprocess.DEVNULL else output,
        stdin=subprocess.DEVNULL, start_new_session=True,  # its own group: stopping it stops its workers
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        if not answers(api_url, server, time.monotonic() + start_seconds):
            state = f"exited with status {server.returncode}" if server.poll() is not None else (
                f"did not answer within {start_seconds:g} s")
            raise RuntimeError(f"the Prefect server at {api_url} {state}")
        yield RunningServer(api_url, server)
    finally:
        stop(server, STANDALONE_STOP_SECONDS, group=True)
