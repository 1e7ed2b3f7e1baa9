"""Custom Great Expectations expectations used by the Cakupan suites.

Importing this module registers them with GX, so suites that name them can be loaded.
"""

from __future__ import annotations

from typing import Literal

from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnPairMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    column_pair_condition_partial,
)

ISO_DAY_LENGTH = len("YYYY-MM-DD")
ISO_DAY_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


class ColumnPairValuesANotAfterDayB(ColumnPairMapMetricProvider):
    """True where the day of A (ISO date or timestamp text) is on or before day B (ISO date).

    Comparing the `YYYY-MM-DD` prefixes as text orders them like the dates, without
    parsing every value. A value not shaped like a date is left to the validity rule of
    its column, so one bad value is not also reported as "after".
    """

    condition_metric_name = "column_pair_values.a_not_after_day_b"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_A",
        "column_B",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        day_a = column_A.astype(str).str.slice(0, ISO_DAY_LENGTH)
        shaped_like_a_day = day_a.str.contains(ISO_DAY_SHAPE)
        return ~shaped_like_a_day | (day_a <= column_B.astype(str))


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

