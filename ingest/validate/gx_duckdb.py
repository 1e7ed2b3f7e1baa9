"""Great Expectations' SQL execution engine on DuckDB (duckdb-engine): three workarounds.

GX 1.24 runs on DuckDB through SQLAlchemy once three gaps are closed; each is patched here,
only for the duckdb dialect, and each has a test in tests/expectations/test_gx_duckdb.py
that fails without it. `install()` is idempotent and runs when suites.py is imported.

1. Results read after their connection closed (GX issue #11579): `execute_query` returns a
   cursor result whose rows are fetched after the `with` block closed the connection;
   DuckDB drops them, so every bundled metric raises IndexError or "No open result set".
   The result is buffered inside the connection (SQLAlchemy's `freeze()`).
2. No regex on the duckdb dialect: `get_dialect_regex_expression` has no duckdb branch (the
   same gap as GX #8048 for Snowflake and #12217 for ClickHouse), so every regex
   expectation raises "Regex is not supported for dialect duckdb". The duckdb branch uses
   `regexp_matches` (RE2, a search like GX's other engines; DuckDB's `~` would be a full
   match), with Python's end-of-text `\\Z` written as RE2's `\\z`.
3. `expect_compound_columns_to_be_unique` on SQL returns no `unexpected_index_list`
   (GX #11609), and the `unexpected_index_query` it returns instead cannot run: it
   cross-joins the table with the failing rows and leaves its count parameter unbound
   (GX #11692). `unexpected_index_ids` selects the failing rows' ids with the
   expectation's own columns and `ignore_row_if`, and refuses a count that differs from
   the one GX computed (so the rule stays GX's).
"""

from __future__ import annotations

import sys

import sqlalchemy as sa
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics import util as metric_util

from cakupan.ingest.validate.re2 import re2_pattern

DIALECT = "duckdb"

GX_REGEX_EXPRESSION = metric_util.get_dialect_regex_expression
GX_EXECUTE_QUERY = SqlAlchemyExecutionEngine.execute_query


def install() -> None:
    """Patch GX for DuckDB (workarounds 1 and 2; 3 is in `unexpected_index_ids`)."""
    SqlAlchemyExecutionEngine.execute_query = _execute_query_buffered
    use_regex_expression(_regex_expression)


def use_regex_expression(function) -> None:
    """Make `function` GX's regex expression builder wherever a metric module imported it
    by name (tests put GX's own back with it, to show the duckdb branch is needed)."""
    for module in list(sys.modules.values()):
        if getattr(module, "get_dialect_regex_expression", None) in (GX_REGEX_EXPRESSION, _regex_expression):
            module.get_dialect_regex_expression = function


def _is_duckdb(dialect) -> bool:
    return getattr(dialect, "name", None) == DIALECT or getattr(getattr(dialect, "dialect", None), "name", None) == DIALECT


def _regex_expression(column, regex: str, dialect, positive: bool = True):
    if _is_duckdb(dialect):
        matches = sa.func.regexp_matches(column, sa.literal(re2_pattern(regex)))
        return matches if positive else sa.not_(matches)
    return GX_REGEX_EXPRESSION(column, regex, dialect, positive)


def _execute_query_buffered(self: SqlAlchemyExecutionEngine, query):
    if self.engine.dialect.name != DIALECT:
        return GX_EXECUTE_QUERY(self, query)
    with self.get_connection() as connection:
        return self._execute_query_with_recovery(connection, query).freeze()()


class UnnamedRows(RuntimeError):
    """An expectation failed but its failing rows cannot be named."""


def unexpected_index_ids(
    connection: sa.Connection, table: str, expectation: dict, result: dict, id_column: str
) -> list[int] | None:
    """The row ids a failed map expectation flagged; None if it names no rows (a
    table-level expectation). `expectation`: its configuration (type and kwargs). Raises
    UnnamedRows when the ids found are not as many as GX counted (a cut list).

    On SQL with values excluded, GX lists ids as one dict of lists ([{id: [ids]}]).
    """
    listed = result.get("unexpected_index_list")
    if listed is not None:
        ids = []
        for entry in listed:
            value = entry[id_column]
            ids.extend(value if isinstance(value, list) else [value])
    elif expectation["type"] == "expect_compound_columns_to_be_unique" and "unexpected_count" in result:
        ids = _compound_duplicate_ids(connection, table, expectation["kwargs"], id_column)
    else:
        return None
    if len(ids) != result.get("unexpected_count"):
        raise UnnamedRows(
            f"GX counted {result.get('unexpected_count')} failing rows, {len(ids)} were named"
        )
    return [int(row_id) for row_id in ids]


def _compound_duplicate_ids(connection: sa.Connection, table: str, kwargs: dict, id_column: str) -> list[int]:
    """Rows whose combination of `column_list` repeats, as GX's compound_columns.unique
    computes it: rows skipped by `ignore_row_if` take no part."""
    columns = [sa.column(name) for name in kwargs["column_list"]]
    rows = sa.table(table, sa.column(id_column), *columns)
    ignore = kwargs.get("ignore_row_if", "all_values_are_missing")
    if ignore == "any_value_is_missing":
        kept = sa.and_(*(column.is_not(None) for column in columns))
    elif ignore == "all_values_are_missing":
        kept = sa.or_(*(column.is_not(None) for column in columns))
    else:
        kept = sa.true()
    repeated = sa.select(*columns).select_from(rows).where(kept).group_by(*columns).having(sa.func.count() > 1)
    query = (
        sa.select(rows.c[id_column])
        .where(kept, sa.tuple_(*columns).in_(repeated))
        .order_by(rows.c[id_column])
    )
    return [int(row_id) for (row_id,) in connection.execute(query)]
