import os
import select
import subprocess
import sys

import pytest

from cakupan.warehouse.connection import WarehouseBusy
from cakupan.warehouse.lock import lock_path, writer_lock

HOLD = """
import sys, time
from cakupan.warehouse.lock import lock_path, writer_lock
with writer_lock(sys.argv[1], wait_seconds=0):
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
        with pytest.raises(WarehouseBusy, match=r"another run is writing the warehouse \(pid \d+\)"):
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
        assert lock_path(warehouse).read_text() == f"pid {os.getpid()}"
