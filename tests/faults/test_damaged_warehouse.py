"""A damaged warehouse is refused before anything writes into it, and the message says how to recover."""

import hashlib
import os

import pytest


@pytest.mark.parametrize("kept", [0.25, 0.5, 0.9])
def test_a_truncated_warehouse_is_refused_and_left_untouched(cakupan_command, error_words, warehouse_copy,
                                                             generated_landing, kept):
    os.truncate(warehouse_copy, int(warehouse_copy.stat().st_size * kept))
    before = hashlib.sha256(warehouse_copy.read_bytes()).hexdigest()

    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", generated_landing,
                             "--warehouse", warehouse_copy)

    assert result.returncode == 1
    words = error_words(result)
    assert f"{warehouse_copy} is damaged" in words and "nothing was written" in words
    assert "cakupan backfill" in words and "restore" in words.lower()
    assert hashlib.sha256(warehouse_copy.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in warehouse_copy.parent.iterdir() if p.is_file()) == [
        warehouse_copy.name, warehouse_copy.name + ".lock"]
