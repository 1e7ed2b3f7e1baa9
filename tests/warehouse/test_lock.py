import os
import re
import select
import subprocess
import sys

import pytest

from cakupan.warehouse.connection import WarehouseBusy
from cakupan.warehouse.lock import lock_path, writer_lock

HOLD = """
import sys, time
from cakupan.warehouse.lock import lock_path, writer_lock
with writer_lock(sys.argv[1], wait_seconds=0, holder="run holder-run-id") as held:
    held.note("prefect-lease", "lease-of-the-holder")
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    print("releasing", flush=True)
"""


def _hold_in_other_process(warehouse, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_gives_up_with_a_clear_message(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = _hold_in_other_process(warehouse, 30)
    try:
        with pytest.raises(WarehouseBusy, match=r"another run is writing the warehouse \(run holder-run-id, pid \d+, since "):
            with writer_lock(warehouse, wait_seconds=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_waits_for_the_first_to_finish(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = _hold_in_other_process(warehouse, 1)
    with writer_lock(warehouse, wait_seconds=30):
        # the holder announced its release before we could get the lock
        readable, _, _ = select.select([holder.stdout], [], [], 0)
        assert readable and holder.stdout.readline().strip() == "releasing"
    holder.wait()


def test_lock_is_released_when_its_holder_is_killed(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = _hold_in_other_process(warehouse, 30)
    holder.kill()
    holder.wait()
    with writer_lock(warehouse, wait_seconds=0):  # would raise WarehouseBusy if still held
        assert re.fullmatch(rf"pid {os.getpid()}, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                            lock_path(warehouse).read_text())


@pytest.mark.slow
def test_a_waiting_writer_says_which_run_holds_the_warehouse_and_since_when(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = _hold_in_other_process(warehouse, 60)
    said = []

    def on_wait(message):
        said.append(message)
        if len(said) == 2:  # heard twice: let the holder go
            holder.kill()

    try:
        with writer_lock(warehouse, wait_seconds=60, holder="run waiting-run-id", on_wait=on_wait):
            assert "run waiting-run-id, pid" in lock_path(warehouse).read_text()
    finally:
        holder.kill()
        holder.wait()
    assert len(said) == 2
    for message in said:
        assert re.search(rf"waiting for the warehouse {re.escape(str(warehouse))}: run holder-run-id, "
                         rf"pid {holder.pid}, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC is writing it", message)
    waited = [int(re.search(r"waited (\d+) s of at most 60 s", message)[1]) for message in said]
    assert waited[0] == 0 and waited[1] >= 5


def test_the_next_holder_reads_what_a_killed_holder_left_it(tmp_path):
    """A holder killed with kill -9 cannot release what it held beside the lock: its notes say what."""
    warehouse = tmp_path / "w.duckdb"
    holder = _hold_in_other_process(warehouse, 30)
    holder.kill()
    holder.wait()
    with writer_lock(warehouse, wait_seconds=0, holder="run next-run-id") as held:
        assert held.previous_holder.startswith(f"run holder-run-id, pid {holder.pid}, since ")
        assert held.previous_notes == {"prefect-lease": "lease-of-the-holder"}
        held.note("prefect-lease", "lease-of-the-next")
    with writer_lock(warehouse, wait_seconds=0) as held:
        assert held.previous_holder.startswith("run next-run-id, pid ")
        assert held.previous_notes == {"prefect-lease": "lease-of-the-next"}
