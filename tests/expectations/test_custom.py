import json

import great_expectations as gx
import pandas as pd
import pytest

from cakupan.expectations.custom import (
    ExpectColumnPairValuesAToNotBeAfterDayB,
    ExpectColumnPairValuesBToMeetRuleWhenAInSet,
)


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


# --- expect_column_pair_values_b_to_meet_rule_when_a_in_set -----------------------------

RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}


def rule_result(batch_definition, a, b, index=None, dtype="str", **rule):
    frame = pd.DataFrame({"a": a, "b": b}, index=index, dtype=dtype)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        ExpectColumnPairValuesBToMeetRuleWhenAInSet(column_A="a", column_B="b", **rule),
        result_format=RESULT_FORMAT,
    )
    assert not result.exception_info["raised_exception"], result.exception_info
    return result


def rule_failures(batch_definition, a, b, index=None, dtype="str", **rule):
    return rule_result(batch_definition, a, b, index, dtype, **rule).result[
        "unexpected_index_list"
    ]


# A: a selected value, another value, a missing value (in no set)
A = ["X", "X", "Y", "Y", None, None]


@pytest.mark.parametrize(
    ("b", "rule", "expected"),
    [
        ([None, "1", None, "1", None, "1"], {"b_must": "be_null"}, [1]),
        ([None, "1", None, "1", None, "1"], {"b_must": "not_be_null"}, [0]),
        # a missing B passes every rule but not_be_null
        ([None, "bad", None, "bad", None, "bad"],
         {"b_must": "be_in_set", "value_set": ["ok", "fine"]}, [1]),
        (["ok", "fine", "ok", "fine", "ok", "fine"],
         {"b_must": "be_in_set", "value_set": ["ok"]}, [1]),
        ([None, "bad", None, "bad", None, "bad"],
         {"b_must": "not_be_in_set", "value_set": ["bad"]}, [1]),
        (["ok", "bad", "ok", "bad", "ok", "bad"],
         {"b_must": "not_be_in_set", "value_set": ["bad", "worse"]}, [1]),
        # the regex is searched anywhere in B, like expect_column_values_to_not_match_regex
        (["JKK|JKM", "JKK|JP|JKM", None, "JP", None, "JP"],
         {"b_must": "not_match_regex", "regex": r"(?:^|\|)JP(?:\||\Z)"}, [1]),
        (["JKK|JKP", "JKK|JP", "JP", "JP", None, "JP"],
         {"b_must": "not_match_regex", "regex": r"(?:^|\|)JP(?:\||\Z)"}, [1]),
    ],
    ids=["be_null", "not_be_null", "be_in_set with missing B", "be_in_set",
         "not_be_in_set with missing B", "not_be_in_set", "not_match_regex with missing B",
         "not_match_regex"],
)
def test_rule_applies_only_where_a_is_in_the_set(batch_definition, b, rule, expected):
    assert rule_failures(batch_definition, A, b, a_value_set=["X"], **rule) == expected


def test_a_value_set_of_several_values(batch_definition):
    a = ["PU", "JAKON", "BPU", "pu", None]
    assert rule_failures(batch_definition, a, [None] * 5, a_value_set=["PU", "JAKON"],
                         b_must="not_be_null") == [0, 1]


def test_b_checked_when_in_leaves_other_values_of_b_to_their_own_rule(batch_definition):
    a = ["PU"] * 5 + ["BPU"]
    b = ["EMPLOYER", "SELF", "APBD", "employer", None, "SELF"]
    assert rule_failures(
        batch_definition, a, b, a_value_set=["PU"], b_must="be_in_set",
        value_set=["EMPLOYER"], b_checked_when_in=["EMPLOYER", "SELF", "APBD"],
    ) == [1, 2]


@pytest.mark.parametrize("dtype", ["str", object, "string"])
def test_failing_rows_are_named_by_the_frame_index(batch_definition, dtype):
    index = pd.Index(["r7", "r3", "r9", "r1", "r5", "r2"])
    b = ["1", None, "1", None, "1", None]

    assert rule_failures(batch_definition, A, b, index=index, dtype=dtype,
                         a_value_set=["X", "Y"], b_must="be_null") == ["r7", "r9"]
    assert rule_failures(batch_definition, A, b, index=index, dtype=dtype,
                         a_value_set=["X", "Y"], b_must="not_be_null") == ["r3", "r1"]
    assert rule_failures(batch_definition, A, b, index=index, dtype=dtype,
                         a_value_set=["X", "Y"], b_must="not_match_regex", regex="1") == [
        "r7", "r9"]


def test_failing_rows_keep_integer_labels_that_are_not_positions(batch_definition):
    b = ["1", None, "1", None, "1", None]
    assert rule_failures(batch_definition, A, b, index=[50, 40, 30, 20, 10, 0],
                         a_value_set=["X"], b_must="not_be_null") == [40]


def test_the_result_names_rows_without_their_values(batch_definition):
    result = rule_result(batch_definition, ["BPU", "BPU"], ["12345678", "secret-value"],
                         a_value_set=["BPU"], b_must="be_null")

    assert result.result["unexpected_index_list"] == [0, 1]
    text = json.dumps(result.to_json_dict())
    assert "12345678" not in text
    assert "secret-value" not in text


def test_an_empty_frame_passes(batch_definition):
    result = rule_result(batch_definition, [], [], a_value_set=["X"], b_must="not_be_null")
    assert result.success


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"b_must": "be_in_set"}, "value_set"),
        ({"b_must": "not_be_in_set"}, "value_set"),
        ({"b_must": "not_match_regex"}, "regex"),
        ({"b_must": "not_match_regex", "regex": "(unclosed"}, "unclosed|missing"),
        ({"b_must": "match_regex", "regex": "x"}, "b_must"),
        ({"b_must": "be_null", "ignore_row_if": "either_value_is_missing"}, "ignore_row_if"),
    ],
)
def test_a_rule_missing_its_parameters_is_refused(rule, message):
    with pytest.raises(Exception, match=message):
        ExpectColumnPairValuesBToMeetRuleWhenAInSet(
            column_A="a", column_B="b", a_value_set=["X"], **rule
        )


def test_a_suite_entry_with_a_bad_rule_is_a_suite_error(tmp_path):
    from cakupan.ingest.validate.suites import SuiteError, read_suite

    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "t", "expectations": [{
        "type": "expect_column_pair_values_b_to_meet_rule_when_a_in_set",
        "kwargs": {"column_A": "segment", "a_value_set": ["BPU"], "column_B": "npp",
                   "b_must": "be_in_set"},
        "meta": {"rule": "npp_something_for_bpu"},
    }]}))

    with pytest.raises(SuiteError, match="(?s)npp_something_for_bpu.*value_set"):
        read_suite(path)
