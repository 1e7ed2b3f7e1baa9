"""Row rules: run the Great Expectations suite of an extract kind over a frame of rows.

The rules themselves live in `expectations/<kind>.json`, one expectation per rule, the
rule id in the expectation's `meta.rule`. This module only runs a suite and turns its
results into "row index -> rule ids it breaks". Every rule is a GX expectation, so no
rule is evaluated here.

Validation writes no files: the GX context is ephemeral and cached per process, and the
results hold row indices only (`exclude_unexpected_values`), never a value, so they can
go into Data Docs without exposing nik or kpj.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.execution_engine import pandas_execution_engine
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

import cakupan.expectations.custom  # noqa: F401  (registers the custom expectations)
from cakupan.ingest.extracts import KINDS

# GX fingerprints (hashes every value of) each batch smaller than this many bytes: 0 skips
# that pass over the data.
pandas_execution_engine.HASH_THRESHOLD = 0


# COMPLETE gives every failing row index; the values themselves stay out of the results.
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}


class ValidationCrash(RuntimeError):
    """A GX expectation raised while validating: an error of the run, not bad data."""


class SuiteError(ValueError):
    """An expectation suite file cannot be used (bad JSON, unknown expectation, no rule id)."""


@dataclass(frozen=True)
class RowValidation:
    """The outcome of one suite over one frame.

    `failures`: {row index: sorted rule ids} for failing rows only.
    `results`: the GX suite validation result (row indices only, no values), for Data Docs.
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


@functools.cache
def _batch_definition(kind: str):
    context = _context()
    asset = context.data_sources.get("cakupan").add_dataframe_asset(kind)
    return asset.add_batch_definition_whole_dataframe(kind)


@functools.cache
def _context():
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("cakupan")
    return context


# One cached GX context per process serves every call; callers may run in threads.
_validation_lock = threading.Lock()


def validate_rows_with_results(kind: str, frame: pd.DataFrame) -> RowValidation:
    """Run the suite of `kind` over `frame` once; failing rows and the GX results.

    `frame`: the spec columns of `kind` as text (missing as NA), plus `_file` and
    `_extract_date` (`YYYY-MM-DD`). Returned row indices are labels of `frame.index`.
    Raises ValidationCrash if any expectation raised (e.g. a column is missing).
    """
    suite = load_suite(kind)
    text = _as_arrow_text(frame)
    with _validation_lock:
        batch = _batch_definition(kind).get_batch(batch_parameters={"dataframe": text})
        results = batch.validate(suite, result_format=RESULT_FORMAT)
    return RowValidation(failures=_failures_by_row(kind, results), results=results)


def _as_arrow_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with object columns as pandas `str`: one conversion instead of one per regex
    expectation, and every regex then runs vectorised in pyarrow."""
    object_columns = frame.columns[frame.dtypes == object]
    if object_columns.empty:
        return frame
    return frame.astype(dict.fromkeys(object_columns, "str"))


def validate_rows(kind: str, frame: pd.DataFrame) -> dict[int, list[str]]:
    """{row index: sorted rule ids it breaks} for the failing rows of `frame` only."""
    return validate_rows_with_results(kind, frame).failures


def _failures_by_row(
    kind: str, results: ExpectationSuiteValidationResult
) -> dict[int, list[str]]:
    crashes = []
    rules_by_row: dict[int, set[str]] = {}
    for result in results.results:
        rule = result.expectation_config.meta["rule"]
        expectation = f"{result.expectation_config.type} (rule {rule!r})"
        crash = _exception_message(result.exception_info)
        failing_rows = (result.result or {}).get("unexpected_index_list")
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
