"""A file still being copied into the landing is not published: it is due only once its size
and modification time have not changed for CAKUPAN_SETTLE_SECONDS, and the next run loads it
whole."""

import os
import time

import pytest

from cakupan.warehouse.connection import connect

SETTLE = {"CAKUPAN_SETTLE_SECONDS": "120"}  # the default; tests/conftest.py sets 0 for the others


def _audit(warehouse) -> dict[str, tuple]:
    with connect(warehouse, read_only=True) as con:
        return {name: tuple(rest) for name, *rest in con.execute(
            "select file_name, status, rows_read, rows_quarantined from audit.extract_files").fetchall()}


@pytest.mark.parametrize("cut", ["mid-line", "at a line end"])
def test_a_file_still_being_delivered_is_left_for_the_next_run_and_then_loaded_whole(
    cakupan_command, landing, tmp_path, cut
):
    delivered = landing / "enrolments_20250301.csv"  # the initial load, ~3,000 rows
    whole = delivered.read_bytes()
    at = int(len(whole) * 0.6)
    if cut == "at a line end":
        at = whole.rindex(b"\n", 0, at) + 1  # nothing about the bytes says they are cut
    delivered.write_bytes(whole[:at])  # BPJS's copy is 60% through, just now
    warehouse = tmp_path / "w" / "cakupan.duckdb"
    nightly = ("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)

    first = cakupan_command(*nightly, env=SETTLE)

    assert first.returncode == 0, first.stderr
    [line] = [line for line in first.stderr.splitlines() if "not settled yet" in line]
    assert "1 file(s)" in line and "enrolments_20250301.csv" in line and "next run" in line
    audit = _audit(warehouse)
    assert "enrolments_20250301.csv" not in audit  # neither loaded nor rejected
    assert len(audit) == 23 and {status for status, _, _ in audit.values()} == {"LOADED"}

    with delivered.open("ab") as copy:  # the copy completes ...
        copy.write(whole[at:])
    two_minutes_ago = time.time() - 180  # ... and nothing changes it for two minutes
    os.utime(delivered, (two_minutes_ago, two_minutes_ago))
    second = cakupan_command(*nightly, env=SETTLE)

    assert second.returncode == 0, second.stderr
    assert "not settled" not in second.stderr
    assert _audit(warehouse)["enrolments_20250301.csv"] == ("LOADED", whole.count(b"\n") - 1, 0)
