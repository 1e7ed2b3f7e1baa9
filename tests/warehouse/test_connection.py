"""A warehouse connection's share of memory: the run's cap, or a share of it (the loads)."""

import pytest

from cakupan.warehouse.connection import connect, keep_share_of_memory


@pytest.mark.parametrize(("cap", "half"), [("1GB", "476.7 MiB"), ("3GiB", "1.5 GiB"), ("700MB", "333.7 MiB")])
def test_a_connection_keeps_a_share_of_the_cap_it_was_opened_with(tmp_path, cap, half):
    with connect(tmp_path / "w.duckdb", memory_limit=cap) as con:
        keep_share_of_memory(con, 0.5)
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == half
