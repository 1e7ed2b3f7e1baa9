import great_expectations as gx
import pandas as pd
import pytest

from cakupan.expectations.custom import ExpectColumnPairValuesAToNotBeAfterDayB


@pytest.fixture(scope="module")
def batch_definition():
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("test").add_dataframe_asset("rows")
    return asset.add_batch_definition_whole_dataframe("all")


def failing_rows(batch_definition, values, day="2025-03-01"):
    frame = pd.DataFrame({"moment": values, "day": [day] * len(values)}, dtype="str")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        ExpectColumnPairValuesAToNotBeAfterDayB(column_A="moment", column_B="day"),
        result_format="COMPLETE",
    )
    assert not result.exception_info["raised_exception"]
    return result.result["unexpected_index_list"]


@pytest.mark.parametrize(
    "moment",
    [
        "2025-03-01",
        "2025-02-28",
        "1999-12-31",
        "2025-03-01 00:00:00",
        "2025-03-01 23:59:59",
        "01-03-2025",  # not shaped like a date: the column's validity rule reports it
        None,
    ],
)
def test_on_or_before_the_day_passes(batch_definition, moment):
    assert failing_rows(batch_definition, [moment]) == []


@pytest.mark.parametrize("moment", ["2025-03-02", "2025-03-02 00:00:00", "2026-01-01 08:00:00"])
def test_after_the_day_fails(batch_definition, moment):
    assert failing_rows(batch_definition, ["2025-03-01", moment]) == [1]
