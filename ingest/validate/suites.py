"""Row rules: run the Great Expectations suite of an extract kind over a table of rows.

The rules themselves live in `expectations/<kind>.json`, one expectation per rule, the
rule id in the expectation's `meta.rule`. This module only runs a suite and turns its
results into "row id -> rule ids it breaks". Every rule is a GX expectation, so no
rule is evaluated here.

GX evaluates the suite where the rows are: the worker's DuckDB table, through GX's SQL
execution engine (SQLAlchemy, duckdb-engine; the fixes it needs are in gx_duckdb.py).
GX is handed a second connection to the worker's own database (a cursor of the writer's
connection), so no second process or file handle opens it and no frame is built.

Validation writes no files: the GX context is ephemeral and cached per process, and the
results hold row ids only (`_id`, `exclude_unexpected_values`), never a value, so they
can go into Data Docs without exposing nik or kpj.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb
import duckdb_engine
import great_expectations as gx
import pandas as pd
import sqlalchemy as sa
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from sqlalchemy.pool import NullPool

import cakupan.expectations.custom  # noqa: F401  (registers the custom expectations)
from cakupan.ingest.extracts import KINDS
from cakupan.ingest.validate import gx_duckdb

gx_duckdb.install()

ROW_ID = "_id"

# COMPLETE gives every failing row id; the values themselves stay out of the results. On
# SQL, GX cuts the ids at `partial_unexpected_count`: set per table to its row count.
BOOLEAN_ONLY = {"result_format": "BOOLEAN_ONLY"}
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ROW_ID],
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}


class ValidationCrash(RuntimeError):
    """A GX expectation raised while validating: an error of the run, not bad data."""


class SuiteError(ValueError):
    """An expectation suite file cannot be used (bad JSON, unknown expectation, no rule id)."""


@dataclass(frozen=True)
class RowValidation:
    """The outcome of one suite over one table.

    `failures`: {row id: sorted rule ids} for failing rows only.
    `results`: the GX suite validation result (row ids only, no values), for Data Docs.
    """

    failures: dict[int, list[str]]
    results: ExpectationSuiteValidationResult


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown extract kind {kind!r}: expected one of {', '.join(KINDS)}")


@functools.cache
def load_suite(kind: str) -> gx.ExpectationSuite:
    """The suite of `kind` ("employers" | "enrolments") from `expectations/<kind>.json`."""
    _check_kind(kind)
    return read_suite(resources.files("cakupan.expectations") / f"{kind}.json")


def read_suite(suite_file: Path | Traversable) -> gx.ExpectationSuite:
    """An expectation suite from a JSON file, each expectation carrying `meta.rule`.

    Raises SuiteError naming the file and the expectation when an entry is not a valid
    expectation or has no rule id (GX itself would only log and drop such an entry).
    """
    try:
        definition = json.loads(suite_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SuiteError(f"{suite_file}: not valid JSON: {error}") from error
    expectations = []
    for position, entry in enumerate(definition.get("expectations", [])):
        rule = entry.get("meta", {}).get("rule")
        where = f"{suite_file}: expectation #{position} ({entry.get('type')}, rule {rule!r})"
        if not rule:
            raise SuiteError(f"{where}: meta.rule (the rule id) is missing")
        try:
            expectations.append(ExpectationConfiguration(**entry).to_domain_obj())
        except Exception as error:
            raise SuiteError(f"{where}: {error}") from error
    return gx.ExpectationSuite(
        name=definition.get("name", Path(str(suite_file)).stem),
        expectations=expectations,
        meta=definition.get("meta"),
        notes=definition.get("notes"),
    )


# One cached GX context per process serves every call; callers may run in threads. GX's
# engine connects through `_connect`, to the connection (and database) of the call under way.
_validation_lock = threading.Lock()
_current: list[tuple[duckdb.DuckDBPyConnection, str]] = []


def _connect() -> duckdb_engine.ConnectionWrapper:
    con, database = _current[-1]
    cursor = con.cursor()
    if database:
        cursor.execute(f"use {database}")
    return duckdb_engine.ConnectionWrapper(cursor)


@functools.cache
def _context():
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    # NullPool: every GX connection is a fresh cursor of the current call's connection.
    context.data_sources.add_sql(
        "cakupan", connection_string="duckdb:///:memory:", kwargs={"creator": _connect, "poolclass": NullPool}
    )
    return context


@functools.cache
def _batch_definition(kind: str, table: str):
    asset = _context().data_sources.get("cakupan").add_table_asset(f"{kind}-{table}", table_name=table)
    return asset.add_batch_definition_whole_table(f"{kind}-{table}")


@contextmanager
def _connected(con: duckdb.DuckDBPyConnection, database: str = "") -> Iterator[None]:
    with _validation_lock:
        _current.append((con, database))
        try:
            yield
        finally:
            _current.pop()


def validate_table(kind: str, con: duckdb.DuckDBPyConnection, table: str) -> RowValidation:
    """Run the suite of `kind` once over `table` of `con`; failing rows and the GX results.

    `table` (`name` or `database.name`): the spec columns of `kind` as text (missing as
    NULL), `_file`, `_extract_date` (`YYYY-MM-DD`) and the row id `_id` (unique), by which
    failing rows are named.
    Raises ValidationCrash if any expectation raised (e.g. a column is missing).

    Two passes: every expectation asks only whether it holds (GX bundles those counts into
    a few scans), then the ones that failed or raised run again for their failing row ids.
    Their results replace the first ones: Data Docs show the failing rows of every
    failing rule, and for a passing rule that it passed.
    """
    suite = load_suite(kind)
    (rows,), = con.execute(f"select count(*) from {table}").fetchall()
    result_format = RESULT_FORMAT | {"partial_unexpected_count": max(rows, 1)}
    database, _, table = table.rpartition(".")
    with _connected(con, database):
        batch = _batch_definition(kind, table).get_batch()
        results = batch.validate(suite, result_format=BOOLEAN_ONLY)
        failed = {result.expectation_config.meta["rule"] for result in results.results if not result.success}
        if failed:
            again = gx.ExpectationSuite(
                name=suite.name, expectations=[e for e in suite.expectations if e.meta["rule"] in failed]
            )
            detailed = {
                result.expectation_config.meta["rule"]: result
                for result in batch.validate(again, result_format=result_format).results
            }
            results.results = [detailed.get(r.expectation_config.meta["rule"], r) for r in results.results]
        with sa.create_engine("duckdb://", creator=_connect, poolclass=NullPool).connect() as connection:
            failures = _failures_by_row(kind, results, connection, table)
    return RowValidation(failures=failures, results=results)


def validate_rows_with_results(kind: str, frame: pd.DataFrame) -> RowValidation:
    """`validate_table` over the rows of a frame (tests, tools): row ids are the labels of
    `frame.index` (integers)."""
    con = duckdb.connect()
    try:
        rows = frame.rename_axis(None).reset_index(names=ROW_ID)
        con.register("_frame", rows)
        con.execute("create table frame_rows as select * from _frame")
        con.unregister("_frame")
        return validate_table(kind, con, "frame_rows")
    finally:
        con.close()


def validate_rows(kind: str, frame: pd.DataFrame) -> dict[int, list[str]]:
    """{row index: sorted rule ids it breaks} for the failing rows of `frame` only."""
    return validate_rows_with_results(kind, frame).failures


def _failures_by_row(
    kind: str, results: ExpectationSuiteValidationResult, connection: sa.Connection, table: str
) -> dict[int, list[str]]:
    crashes = []
    rules_by_row: dict[int, set[str]] = {}
    for result in results.results:
        rule = result.expectation_config.meta["rule"]
        expectation = f"{result.expectation_config.type} (rule {rule!r})"
        crash = _exception_message(result.exception_info)
        failing_rows = None
        if crash is None and not result.success:
            configuration = {"type": result.expectation_config.type, "kwargs": result.expectation_config.kwargs}
            try:
                failing_rows = gx_duckdb.unexpected_index_ids(
                    connection, table, configuration, result.result or {}, ROW_ID
                )
            except gx_duckdb.UnnamedRows as error:
                crash = str(error)
        if crash is not None:
            crashes.append(f"{expectation} raised: {crash}")
        elif not result.success and failing_rows is None:
            crashes.append(
                f"{expectation} failed without naming rows: "
                "only row-level expectations belong in the suite"
            )
        elif not result.success:
            for row in failing_rows:
                rules_by_row.setdefault(int(row), set()).add(rule)
    if crashes:
        raise ValidationCrash(f"{kind} suite: " + "; ".join(crashes))
    return {row: sorted(rules) for row, rules in sorted(rules_by_row.items())}


def _exception_message(exception_info: dict | None) -> str | None:
    """The message of a raised exception, or None; GX nests the info per metric at times."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        if exception_info["raised_exception"]:
            return exception_info.get("exception_message") or "unknown exception"
        return None
    messages = [_exception_message(info) for info in exception_info.values()]
    found = [message for message in messages if message]
    return "; ".join(found) if found else None
