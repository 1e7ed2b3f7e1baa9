"""The one way the tests and the benchmarks start a Prefect server of their own."""

import os

import httpx
import pytest

from cakupan.prefect_server import standalone_prefect_server


def test_a_standalone_server_answers_on_its_own_home_and_leaves_no_process_behind(tmp_path):
    home = tmp_path / "prefect-home"
    with standalone_prefect_server(home, {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}) as server:
        assert server.api_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{server.api_url}/health", timeout=5).status_code == 200
        assert any(home.iterdir())  # its database lives in the home it was given
        group = server.process.pid
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)  # the server and its workers are gone
