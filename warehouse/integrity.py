"""Is the warehouse file whole? Checked before a run writes into it, without writing.

A truncated or damaged DuckDB file can still open: DuckDB then reads missing blocks only when
a query needs them, and a run writing into it commits new data beside tables it can no
longer read. So the file must be as long as its blocks say, and the audit and published
tables must read through.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cakupan.config import DEFAULT_DUCKDB_MEMORY_LIMIT
from cakupan.errors import Refused
from cakupan.warehouse.connection import connect

# DuckDB's file header and its two database headers precede the blocks.
HEADER_BYTES = 3 * 4096
CHECKED_SCHEMAS = ("audit", "mart")


class WarehouseDamaged(Refused):
    """The warehouse file is damaged: nothing may be written into it."""


def check_intact(path: str | Path, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT) -> None:
    """Refuse a damaged warehouse file (a missing one is a new warehouse)."""
    path = Path(path)
    if not path.exists():
        return
    try:
        with connect(path, read_only=True, memory_limit=memory_limit) as con:
            # used, not total: total counts free blocks DuckDB may have cut off the file's end
            block_size, used_blocks = con.execute(
                "select block_size, used_blocks from pragma_database_size()"
            ).fetchone()
            needed = HEADER_BYTES + block_size * used_blocks
            size = path.stat().st_size
            if size < needed:
                raise _damaged(path, f"the file has {size:,} bytes, its blocks need {needed:,}")
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where schema_name in ? order by all",
                [list(CHECKED_SCHEMAS)],
            ).fetchall()
            for schema, table in tables:
                # hash(t) reads every column of every row
                con.execute(f'select bit_xor(hash(t)) from "{schema}"."{table}" t').fetchone()
    except duckdb.Error as error:
        raise _damaged(path, str(error).splitlines()[0]) from None


def _damaged(path: Path, detail: str) -> WarehouseDamaged:
    return WarehouseDamaged(
        f"{path} is damaged ({detail}); nothing was written. Restore it from a copy, or move it "
        "aside and rebuild it from the landing with `cakupan backfill --start FIRST --end LAST` "
        "(README: Recovering a damaged warehouse)"
    )
