"""The report tests' hand-made marts (conftest.MART_DDL) have the columns and types the real
models publish, as history.* is checked against mart.* (tests/transforms/test_history.py)."""

import duckdb

from cakupan.config import ReferenceFiles
from cakupan.transforms import build
from cakupan.warehouse.connection import open_warehouse
from cakupan.warehouse.reference import load_reference

from .conftest import MART_DDL


def columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    tables = [name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'mart' order by table_name"
    ).fetchall()]
    return {table: [tuple(row[:2]) for row in con.execute(f"describe mart.{table}").fetchall()] for table in tables}


def test_the_hand_made_marts_have_the_columns_and_types_of_the_models(tmp_path):
    with open_warehouse(tmp_path / "built.duckdb") as built:
        load_reference(built, ReferenceFiles())
        build(built)
        published = columns(built)
    with duckdb.connect() as hand_made:
        hand_made.execute("create schema mart")
        for ddl in MART_DDL:
            hand_made.execute(ddl)
        fixture = columns(hand_made)
    assert len(fixture) == len(MART_DDL) and set(fixture) <= set(published)
    assert fixture == {table: published[table] for table in fixture}
