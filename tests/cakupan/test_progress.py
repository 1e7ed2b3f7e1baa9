"""No silence on a terminal: the live line names each step and, while files load or extracts
are generated, counts them with a rate and the time left; a run that waits for another says
which run holds the warehouse and since when, over and over, until it may go on."""

import os
import pty
import re
import subprocess
import sys

import pytest

from cakupan.warehouse.lock import writer_lock

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HOLD = """
import sys, time
from cakupan.warehouse.lock import writer_lock
with writer_lock(sys.argv[1], wait_seconds=0, holder="run holding-run-id"):
    print("held", flush=True)
    time.sleep(300)
"""


def on_a_terminal(command, *args, env=None) -> tuple[int, str]:
    """Run the command with a terminal as its output; everything it showed, as plain text."""
    leader, follower = pty.openpty()
    run = command.start(*args, env={"COLUMNS": "160", **(env or {})},
                        stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the command ends
            break
        if not chunk:
            break
        screen += chunk
    return run.wait(timeout=300), ANSI.sub("", screen.decode(errors="replace"))


def test_generation_counts_its_days(embedded_command, tmp_path):
    code, screen = on_a_terminal(embedded_command, "generate", "--out", str(tmp_path / "landing"), "--start", "2025-01-01",
                                 "--end", "2025-01-20", "--scale", "0.01")
    assert code == 0
    assert "starting" in screen and "generating extracts" in screen
    assert re.search(r"generating extracts .*\d+/20 days", screen)
    assert "wrote 40 files" in screen


def test_a_run_names_its_steps_and_counts_files_with_their_rate(cakupan_command, landing, tmp_path):
    code, screen = on_a_terminal(cakupan_command, "nightly", "--as-of", "2025-03-12", "--landing", landing,
                                 "--warehouse", tmp_path / "w.duckdb")
    assert code == 0, screen
    for step in ("starting the run", "1/4 Discovering files", "2/4 Validating and loading 24 file(s)",
                 "3/4 Rebuilding the published tables", "4/4 Writing the coverage report"):
        assert step in screen
    assert re.search(r"loading files .*24/24 files · [\d,]+ rows/s", screen)


def _wait_for(run: subprocess.Popen, pattern: str, times: int) -> list[str]:
    """Lines of the run's output up to the `times`-th that matches `pattern`."""
    seen, matching = [], 0
    for line in run.stdout:
        seen.append(line)
        matching += bool(re.search(pattern, line))
        if matching == times:
            return seen
    pytest.fail("the run ended before saying it waits:\n" + "".join(seen))


def test_a_waiting_run_says_which_run_holds_the_warehouse_until_it_goes_on(cakupan_command, landing, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    waiting = cakupan_command.start(
        "nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
        env={"CAKUPAN_WRITER_WAIT_SECONDS": "300"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        said = _wait_for(waiting, "waiting for the warehouse", times=2)
    finally:
        holder.kill()
        holder.wait()
    rest = waiting.stdout.read()
    assert waiting.wait(timeout=300) == 0, rest
    messages = [line for line in said if "waiting for the warehouse" in line]
    for message in messages:
        assert re.search(rf"run holding-run-id, pid {holder.pid}, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC "
                         r"is writing it; waited \d+ s of at most 300 s", message)
    assert "1/4 Discovering" in rest  # then it went on


def test_a_run_waiting_for_the_prefect_slot_says_so_until_it_goes_on(cakupan_command, landing, tmp_path):
    from prefect.concurrency.sync import concurrency

    warehouse = tmp_path / "w.duckdb"
    with writer_lock(warehouse, wait_seconds=0, holder="run slot-holder-run-id"):
        pass  # the last writer, as the run holding the slot would have left it
    with concurrency("cakupan-warehouse", occupy=1, strict=True):
        waiting = cakupan_command.start(
            "nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
            env={"CAKUPAN_WRITER_WAIT_SECONDS": "300"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        said = _wait_for(waiting, "waiting for the Prefect concurrency slot", times=2)
    rest = waiting.stdout.read()
    assert waiting.wait(timeout=300) == 0, rest
    messages = [line for line in said if "waiting for the Prefect concurrency slot" in line]
    assert all("last writer: run slot-holder-run-id, pid" in message for message in messages)
    assert "1/4 Discovering" in rest
