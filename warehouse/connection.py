"""Opening the warehouse: one DuckDB file, schema ensured on every open."""

from __future__ import annotations

from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Iterator

import duckdb

from cakupan.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from cakupan.errors import Refused
from cakupan.warehouse.clock import upgrade_to_utc_instants

SCHEMA_SQL = files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


class WarehouseBusy(Refused):
    """Another process holds the warehouse file."""


def open_warehouse(
    path: str | Path, read_only: bool = False, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> duckdb.DuckDBPyConnection:
    """Open (and for writers create) the warehouse file with the pipeline's tables; DuckDB's
    share of memory is the run's (config.Settings.duckdb_memory_limit)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(f"{path}: another process is writing the warehouse") from exc
        raise
    con.execute("set enable_progress_bar = false")
    # TIMESTAMPTZ values come back (and print) in the session's zone: UTC, whatever the machine's
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = '{memory_limit}'")
    if not read_only:
        con.execute(SCHEMA_SQL)
        upgrade_to_utc_instants(con)
    return con


@contextmanager
def in_any_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB may write the block's rows in any order, so it writes them in parallel. In order
    under a 256 MB cap it wrote on one thread: 2.2M rows into Parquet in 10.9 s against 5.2,
    4.4M rows from Parquet into a table in 10.1 s against 5.6. For tables that are sets, whose
    columns place each row (raw.*: `file_name`, `row_number`)."""
    (before,), = con.execute("select current_setting('preserve_insertion_order')").fetchall()
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"set preserve_insertion_order = {bool(before)}")


def keep_share_of_memory(con: duckdb.DuckDBPyConnection, share: float) -> None:
    """Lower the connection's memory limit to `share` of itself (DuckDB shows it as '953.6 MiB')."""
    amount, unit = con.execute("select current_setting('memory_limit')").fetchone()[0].split()
    con.execute(f"set memory_limit = '{float(amount) * share:.1f}{unit}'")


@contextmanager
def connect(
    path: str | Path, read_only: bool = False, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection closed on exit (DuckDB drops unfetched rows on close: fetch inside)."""
    con = open_warehouse(path, read_only=read_only, memory_limit=memory_limit)
    try:
        yield con
    finally:
        con.close()

