"""The benchmark's memory sampling: the RSS sum counts pages a forked child shares with its
parent twice, the PSS sum once."""

import sys
from pathlib import Path

from tests.support import module_from_file

measure = module_from_file("benchmark_sampling", Path(__file__).parents[2] / "benchmarks" / "sampling.py").measure

SHARED_MB = 200
FORKS_AND_HOLDS = f"""
import os, time
held = bytearray(b"x") * ({SHARED_MB} * 1024 * 1024)  # written: resident
child = os.fork()
time.sleep(2.5)  # PSS is sampled once a second
if child:
    os.waitpid(child, 0)
"""


def test_a_forked_childs_shared_pages_count_twice_in_rss_and_once_in_pss(tmp_path):
    sample = measure([sys.executable, "-c", FORKS_AND_HOLDS], {}, tmp_path / "log", memory_cap_mb=4096)
    assert sample.exit_code == 0
    assert sample.tree_peak_mb > 2 * SHARED_MB * 0.95
    assert SHARED_MB * 0.95 < sample.tree_peak_pss_mb < SHARED_MB * 1.5
