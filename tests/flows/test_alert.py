"""The README's automation alerts someone when a nightly ends Failed on stale deliveries."""

import http.server
import json
import os
import re
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from cakupan.flows.nightly import nightly

from tests.support import PREFECT

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture
def webhook_receiver():
    """A local HTTP endpoint standing in for Slack; yields (url, list of JSON bodies received)."""
    received: list[dict] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def readme_automation(block_id: str) -> str:
    """The automation YAML exactly as the README gives it, with the block id filled in."""
    (yaml,) = re.findall(r"<<YAML\n(.*?)\nYAML\n", README.read_text(), re.S)
    return yaml.replace("$BLOCK_ID", block_id)


def test_the_readme_automation_notifies_when_a_nightly_is_stale(
    prefect_api, pii_key, tmp_landing, write_extract, employer, enrolment, tmp_path, webhook_receiver
):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client

    url, received = webhook_receiver
    block_id = CustomWebhookNotificationBlock(
        name="cakupan", url=url, json_data={"text": "{{subject}} | {{body}}"}
    ).save("cakupan-alerts-test", overwrite=True)
    automation_file = tmp_path / "cakupan-nightly-failed.yaml"
    automation_file.write_text(readme_automation(str(block_id)))
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    created = subprocess.run([PREFECT, "automation", "create", "-f", str(automation_file)], env=env,
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stdout + created.stderr
    try:
        write_extract("employers_20250301.csv", [employer(1)])
        write_extract("enrolments_20250305.csv", [enrolment(1)])
        state = nightly(as_of=date(2025, 3, 5), landing=str(tmp_landing), warehouse=str(tmp_path / "w.duckdb"),
                        return_state=True)
        assert state.is_failed()
        with get_client(sync_client=True) as client:
            run_name = client.read_flow_run(state.state_details.flow_run_id).name
        deadline = time.monotonic() + 120
        while not received and time.monotonic() < deadline:
            time.sleep(1)
        assert [body["text"] for body in received] == [
            f"Cakupan nightly failed: {run_name} | "
            "employers extract stale: newest 2025-03-01, 4 days before 2025-03-05"
        ]
    finally:  # the server is shared by the session: no alert for other tests' failed nightlies
        with get_client(sync_client=True) as client:
            for automation in client.read_automations_by_name("cakupan-nightly-failed"):
                client.delete_automation(automation.id)
