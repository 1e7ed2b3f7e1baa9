import json
from importlib import resources

import pytest

from cakupan.ingest.extracts import KINDS
from cakupan.ingest.validate.suites import SuiteError, load_suite, read_suite


def suite_json(kind):
    return json.loads((resources.files("cakupan.expectations") / f"{kind}.json").read_text())


@pytest.mark.parametrize("kind", KINDS)
def test_suite_loads_every_expectation_of_its_json_file(kind):
    entries = suite_json(kind)["expectations"]

    suite = load_suite(kind)

    assert [e.meta["rule"] for e in suite.expectations] == [e["meta"]["rule"] for e in entries]
    assert [e.expectation_type for e in suite.expectations] == [e["type"] for e in entries]


@pytest.mark.parametrize("kind", KINDS)
def test_rule_ids_are_unique_within_a_suite(kind):
    rules = [e.meta["rule"] for e in load_suite(kind).expectations]

    assert len(rules) == len(set(rules))


def test_unknown_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="'payments'"):
        load_suite("payments")


def write_suite(tmp_path, expectations):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "t", "expectations": expectations}))
    return path


def test_read_suite_takes_a_suite_file(tmp_path):
    path = write_suite(
        tmp_path,
        [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "npp"},
          "meta": {"rule": "npp_required"}}],
    )

    suite = read_suite(path)

    assert [e.meta["rule"] for e in suite.expectations] == ["npp_required"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "npp"}},
         "meta.rule"),
        ({"type": "expect_column_values_to_be_purple", "kwargs": {"column": "npp"},
          "meta": {"rule": "purple"}}, "expect_column_values_to_be_purple"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"colum": "npp"},
          "meta": {"rule": "npp_required"}}, "colum"),
    ],
)
def test_a_bad_expectation_is_an_error_naming_file_and_expectation(tmp_path, entry, message):
    path = write_suite(tmp_path, [{"type": "expect_column_to_exist", "kwargs": {"column": "a"},
                                   "meta": {"rule": "a_exists"}}, entry])

    with pytest.raises(SuiteError, match=message) as raised:
        read_suite(path)

    assert str(path) in str(raised.value)
    assert "expectation #1" in str(raised.value)


def test_a_suite_file_that_is_not_json_is_an_error_naming_it(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text("{not json")

    with pytest.raises(SuiteError, match="not valid JSON") as raised:
        read_suite(path)

    assert str(path) in str(raised.value)


@pytest.mark.parametrize("kind", ["employers", "enrolments"])
def test_kbli_division_rule_agrees_with_the_reference_divisions(kind):
    """The suites spell the invalid divisions out for the data engineer; the reference data
    (warehouse/reference/kbli_divisions.csv) maps the valid ones to sections: they must agree."""
    import re

    from cakupan.ingest.validate.suites import load_suite
    from cakupan.warehouse.reference import read_reference

    (rule,) = [e for e in load_suite(kind).expectations if e.meta.get("rule") == "kbli_division"]
    invalid = re.compile(rule.regex)
    valid = set(read_reference("kbli_divisions")["division"])
    for division in (f"{d:02d}" for d in range(100)):
        assert bool(invalid.match(division + "111")) == (division not in valid), division
