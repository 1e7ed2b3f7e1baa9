"""A warehouse connection: its share of memory (the run's cap, or a share of it for the
loads), and blocks whose rows DuckDB may write in any order."""

import duckdb
import pytest

from cakupan.warehouse.connection import connect, in_any_order, keep_share_of_memory


@pytest.mark.parametrize(("cap", "half"), [("1GB", "476.7 MiB"), ("3GiB", "1.5 GiB"), ("700MB", "333.7 MiB")])
def test_a_connection_keeps_a_share_of_the_cap_it_was_opened_with(tmp_path, cap, half):
    with connect(tmp_path / "w.duckdb", memory_limit=cap) as con:
        keep_share_of_memory(con, 0.5)
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == half


def _ordered(con) -> bool:
    return con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]


@pytest.mark.parametrize("ordered_before", [True, False])
def test_rows_in_any_order_for_a_block_then_as_before_even_after_an_error(tmp_path, ordered_before):
    with connect(tmp_path / "w.duckdb") as con:
        con.execute(f"set preserve_insertion_order = {ordered_before}")
        with in_any_order(con):
            assert not _ordered(con)
            con.execute("create table numbers as select range as n from range(100000)")
        assert _ordered(con) is ordered_before
        with pytest.raises(duckdb.CatalogException), in_any_order(con):
            con.execute("select * from no_such_table")
        assert _ordered(con) is ordered_before
        # in any order, but every row: a set
        assert con.execute("select count(*), sum(n) from numbers").fetchone() == (100000, 4999950000)
