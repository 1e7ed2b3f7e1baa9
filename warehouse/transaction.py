"""The one way to write a transaction. A module of its own so that `clock` (which
`connection` imports to upgrade old warehouses) writes its transaction the same way."""

from __future__ import annotations

from contextlib import contextmanager, suppress
from typing import Iterator

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block writes, or none of it."""
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        # a failed write (a full disk) may have ended the transaction already: the error to
        # report is the one that ended it, not the rollback's "no transaction is active"
        with suppress(duckdb.TransactionException):
            con.rollback()
        raise
