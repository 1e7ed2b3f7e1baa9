"""A disk that fills while a run prepares its slices is said in one line naming the folder and
what to free: no DuckDB JSON blob, no traceback (from the run or a worker process)."""

from __future__ import annotations

import pytest

from .test_kill import runs, small_disk  # noqa: F401 - small_disk is a fixture


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_full_disk_is_one_line_naming_the_folder_and_what_to_free(
    cakupan_command, landing, small_disk, error_words, workers  # noqa: F811
):
    warehouse = small_disk / "cakupan.duckdb"
    full = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                           env={"CAKUPAN_WORKERS": workers}, embedded=True)
    assert full.returncode == 1
    output = full.stdout + full.stderr
    assert "exception_type" not in output and "IOException" not in output, output
    words = error_words(full)  # asserts no traceback
    error = words.split("error: ", 1)[1]
    assert error.startswith(f"disk full: no space left for {small_disk}"), error
    assert f"on the file system at {small_disk}" in error and "free space there" in error, error
    assert [state for state, _, _ in runs(warehouse)] == ["FAILED"]
