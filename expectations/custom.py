"""Custom Great Expectations expectations used by the Cakupan suites.

Importing this module registers them with GX, so suites that name them can be loaded.
Each metric has two implementations that must agree row for row: SQL (what the pipeline
runs, on the worker's DuckDB table) and pandas (GX's other engine; the test
tests/expectations/test_engines.py runs both over the same hostile rows).
"""

from __future__ import annotations

import re
from typing import Literal, Optional

import numpy as np
import pandas as pd
from great_expectations.compatibility import pydantic
import sqlalchemy as sa
from great_expectations.execution_engine import PandasExecutionEngine, SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import ColumnPairMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    column_pair_condition_partial,
)
from great_expectations.expectations.metrics.util import get_dialect_regex_expression

ISO_DAY_LENGTH = len("YYYY-MM-DD")
ISO_DAY_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


# The domain a column-pair metric is computed over (as in GX's own pair metrics).
PAIR_DOMAIN_KEYS = (
    "batch_id",
    "table",
    "column_A",
    "column_B",
    "row_condition",
    "condition_parser",
    "ignore_row_if",
)


class ColumnPairValuesANotAfterDayB(ColumnPairMapMetricProvider):
    """True where the day of A (ISO date or timestamp text) is on or before day B (ISO date).

    Comparing the `YYYY-MM-DD` prefixes as text orders them like the dates, without
    parsing every value. A value not shaped like a date is left to the validity rule of
    its column, so one bad value is not also reported as "after".
    """

    condition_metric_name = "column_pair_values.a_not_after_day_b"
    condition_domain_keys = PAIR_DOMAIN_KEYS

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        day_a = column_A.astype(str).str.slice(0, ISO_DAY_LENGTH)
        shaped_like_a_day = day_a.str.contains(ISO_DAY_SHAPE)
        return ~shaped_like_a_day | (day_a <= column_B.astype(str))

    @column_pair_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column_A, column_B, _sqlalchemy_engine, **kwargs):
        day_a = sa.func.substr(column_A, 1, ISO_DAY_LENGTH)
        shaped_like_a_day = _regex(day_a, ISO_DAY_SHAPE, _sqlalchemy_engine.dialect)
        return sa.or_(sa.not_(shaped_like_a_day), day_a <= column_B)


class ExpectColumnPairValuesAToNotBeAfterDayB(ColumnPairMapExpectation):
    """Expect the date or timestamp in column A to fall on or before the day in column B.

    Both columns hold ISO text: A is `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, B is
    `YYYY-MM-DD`. A timestamp anywhere within day B passes ("not after the end of the
    day"). Values of A not shaped like a date pass here; their column's own validity
    expectation reports them.
    """

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = (
        pydantic.Field(default="either_value_is_missing")
    )

    map_metric = "column_pair_values.a_not_after_day_b"
    success_keys = ("column_A", "column_B", "ignore_row_if", "mostly")
    args_keys = ("column_A", "column_B")



def _regex(column, regex: str, dialect):
    """A regex search in SQL; raises for a dialect GX has no regex for (an error of the
    run, never a passing rule). `dialect`: the engine's own (GX hands column-pair metrics
    its dialect module, None for duckdb)."""
    expression = get_dialect_regex_expression(column, regex, dialect)
    if expression is None:
        raise NotImplementedError(f"regex is not supported for SQL dialect {getattr(dialect, 'name', dialect)}")
    return expression


# What column B must satisfy in the rows where column A is in `a_value_set`.
B_MUST = ("be_null", "not_be_null", "be_in_set", "not_be_in_set", "not_match_regex")


class ColumnPairValuesBMeetRuleWhenAInSet(ColumnPairMapMetricProvider):
    """True where the row passes "when A is in `a_value_set`, B must `b_must`".

    One vectorised pass over the two columns of the whole frame: the rows A does not
    select pass, and nothing is filtered or copied, so the failing rows keep the labels of
    the frame's index. A missing A is in no set. A missing B passes `be_in_set`,
    `not_be_in_set` and `not_match_regex` (as in the GX column expectations, whose rule
    for missing values is `not_be_null`). With `b_checked_when_in`, only rows whose B is
    in that set are checked: other values of B are left to B's own rules.
    """

    condition_metric_name = "column_pair_values.b_meet_rule_when_a_in_set"
    condition_value_keys = ("a_value_set", "b_must", "value_set", "regex", "b_checked_when_in")
    condition_domain_keys = PAIR_DOMAIN_KEYS

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,
        column_A,
        column_B,
        a_value_set,
        b_must,
        value_set=None,
        regex=None,
        b_checked_when_in=None,
        **kwargs,
    ):
        checked = column_A.isin(a_value_set).to_numpy(dtype=bool, na_value=False)
        if b_checked_when_in is not None:
            in_checked_set = column_B.isin(b_checked_when_in)
            checked = checked & in_checked_set.to_numpy(dtype=bool, na_value=False)
        missing = column_B.isna().to_numpy(dtype=bool)
        if b_must == "be_null":
            fails = checked & ~missing
        elif b_must == "not_be_null":
            fails = checked & missing
        else:
            checked = checked & ~missing
            fails = np.zeros(len(column_B), dtype=bool)
            positions = np.flatnonzero(checked)
            values = column_B.iloc[positions]
            if b_must == "be_in_set":
                bad = ~values.isin(value_set)
            elif b_must == "not_be_in_set":
                bad = values.isin(value_set)
            elif b_must == "not_match_regex":
                bad = values.astype("str").str.contains(regex, regex=True, na=False)
            else:
                raise ValueError(f"b_must {b_must!r}: expected one of {', '.join(B_MUST)}")
            fails[positions[bad.to_numpy(dtype=bool, na_value=False)]] = True
        return pd.Series(~fails, index=column_B.index)

    @column_pair_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        column_A,
        column_B,
        a_value_set,
        b_must,
        _sqlalchemy_engine,
        value_set=None,
        regex=None,
        b_checked_when_in=None,
        **kwargs,
    ):
        # Every term is TRUE or FALSE, never NULL: a NULL condition would be neither a
        # passing nor a failing row.
        checked = sa.func.coalesce(column_A.in_(a_value_set), sa.false())
        if b_checked_when_in is not None:
            checked = sa.and_(checked, sa.func.coalesce(column_B.in_(b_checked_when_in), sa.false()))
        if b_must == "be_null":
            fails = sa.and_(checked, column_B.is_not(None))
        elif b_must == "not_be_null":
            fails = sa.and_(checked, column_B.is_(None))
        elif b_must == "be_in_set":
            fails = sa.and_(checked, column_B.is_not(None), column_B.not_in(value_set))
        elif b_must == "not_be_in_set":
            fails = sa.and_(checked, column_B.is_not(None), column_B.in_(value_set))
        elif b_must == "not_match_regex":
            fails = sa.and_(checked, column_B.is_not(None), _regex(column_B, regex, _sqlalchemy_engine.dialect))
        else:
            raise ValueError(f"b_must {b_must!r}: expected one of {', '.join(B_MUST)}")
        return sa.not_(fails)


class ExpectColumnPairValuesBToMeetRuleWhenAInSet(ColumnPairMapExpectation):
    """Expect column B to meet a rule in the rows where column A is in a set of values.

    "When `column_A` is in `a_value_set`, `column_B` must `b_must`", with `b_must`:
    `be_null`, `not_be_null`, `be_in_set` (`value_set`), `not_be_in_set` (`value_set`) or
    `not_match_regex` (`regex`, Python re, searched anywhere in the value like GX's
    expect_column_values_to_not_match_regex). Rows where A is missing or not in the set
    pass. A missing B passes every rule but `not_be_null`. `b_checked_when_in` (optional)
    narrows the check to rows whose B is in that set, so a B that is invalid on its own is
    reported by B's own rule only.

    The same rule as a `row_condition` on A, computed in one pass over the two columns
    instead of filtering (and copying) the whole frame for every metric.
    """

    a_value_set: list
    b_must: Literal["be_null", "not_be_null", "be_in_set", "not_be_in_set", "not_match_regex"]
    value_set: Optional[list] = None
    regex: Optional[str] = None
    b_checked_when_in: Optional[list] = None
    # every row is looked at: a missing B is what `not_be_null` reports
    ignore_row_if: Literal["neither"] = pydantic.Field(default="neither")

    map_metric = "column_pair_values.b_meet_rule_when_a_in_set"
    success_keys = (
        "column_A",
        "column_B",
        "a_value_set",
        "b_must",
        "value_set",
        "regex",
        "b_checked_when_in",
        "ignore_row_if",
        "mostly",
    )
    args_keys = ("column_A", "column_B")

    @pydantic.root_validator(skip_on_failure=True)
    def _parameters_fit_the_rule(cls, values):
        b_must = values.get("b_must")
        if b_must in ("be_in_set", "not_be_in_set") and not values.get("value_set"):
            raise ValueError(f"b_must {b_must!r} needs a value_set")
        if b_must == "not_match_regex":
            if not values.get("regex"):
                raise ValueError("b_must 'not_match_regex' needs a regex")
            re.compile(values["regex"])
        return values
