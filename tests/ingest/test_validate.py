"""Row rules of the GX suites, run through validate_rows as the ingest flow does."""

import json

import great_expectations as gx
import pandas as pd
import pytest

from cakupan.ingest.validate import suites as validate
from cakupan.ingest.validate.suites import (
    ValidationCrash,
    load_suite,
    validate_rows,
    validate_rows_with_results,
)
from tests import support

EXTRACT_DATE = "2025-03-01"


def staged(row: dict, kind: str) -> dict:
    """A row of the shared builder as the reader stages it: text, from the file of EXTRACT_DATE."""
    text = {column: None if value is None else str(value) for column, value in row.items()}
    return text | {"updated_at": text["updated_at"] or "2025-02-28 08:00:00",
                   "_file": f"{kind}_20250301.csv", "_extract_date": EXTRACT_DATE}


def employer_row(**changes):
    return staged(support.employer_row(), "employers") | changes


def enrolment_row(**changes):
    # the cases' end dates are written against this start
    return staged(support.enrolment_row(start_date="2024-01-15"), "enrolments") | changes


BPU = {"segment": "BPU", "npp": None, "kbli": "56101", "programs": "JKK|JKM|JHT",
       "contribution_source": "SELF"}
NONAKTIF = {"status": "NONAKTIF", "end_date": "2024-06-30"}

# (case id, changes to the valid row, rule ids the row must break exactly)
EMPLOYER_CASES = [
    ("valid", {}, []),
    ("npp leading zeros", {"npp": "00000001"}, []),
    ("npp missing", {"npp": None}, ["npp_required"]),
    ("npp 7 digits", {"npp": "0012345"}, ["npp_format"]),
    ("npp 9 digits", {"npp": "001234567"}, ["npp_format"]),
    ("npp with a letter", {"npp": "0012345A"}, ["npp_format"]),
    ("npp with a trailing line break", {"npp": "00123456\n"}, ["npp_format"]),
    ("name missing", {"name": None}, ["name_required"]),
    ("kbli missing", {"kbli": None}, ["kbli_required"]),
    ("kbli 4 digits", {"kbli": "4711"}, ["kbli_format"]),
    ("kbli with a dot", {"kbli": "47.11"}, ["kbli_format"]),
    ("kbli division 00", {"kbli": "00111"}, ["kbli_division"]),
    ("kbli division 04", {"kbli": "04111"}, ["kbli_division"]),
    ("kbli division 89", {"kbli": "89111"}, ["kbli_division"]),
    ("kbli division 01 leading zero", {"kbli": "01111"}, []),
    ("kbli division 99", {"kbli": "99000"}, []),
    ("district missing", {"district": None}, ["district_required"]),
    ("district lower case", {"district": "klojen"}, ["district_in_set"]),
    ("district outside the city", {"district": "BATU"}, ["district_in_set"]),
    ("size_class missing", {"size_class": None}, ["size_class_required"]),
    ("size_class unknown", {"size_class": "SEDANG"}, ["size_class_in_set"]),
    ("size_class BESAR", {"size_class": "BESAR"}, []),
    ("reported_workers missing", {"reported_workers": None}, ["reported_workers_required"]),
    ("reported_workers negative", {"reported_workers": "-1"},
     ["reported_workers_non_negative_integer"]),
    ("reported_workers decimal", {"reported_workers": "1.5"},
     ["reported_workers_non_negative_integer"]),
    ("reported_workers beyond bigint", {"reported_workers": "9" * 19},
     ["reported_workers_non_negative_integer"]),
    ("reported_workers zero", {"reported_workers": "0"}, []),
    ("registered_on missing", {"registered_on": None}, ["registered_on_required"]),
    ("registered_on 30 February", {"registered_on": "2019-02-30"},
     ["registered_on_valid_date"]),
    ("registered_on day-first", {"registered_on": "01-07-2019"}, ["registered_on_valid_date"]),
    ("registered_on after the extract date", {"registered_on": "2025-03-02"},
     ["registered_on_not_after_extract_date"]),
    ("registered_on on the extract date", {"registered_on": EXTRACT_DATE}, []),
    ("status missing", {"status": None}, ["status_required"]),
    ("status unknown", {"status": "BATAL"}, ["status_in_set"]),
    ("status TUTUP", {"status": "TUTUP"}, []),
    ("updated_at missing", {"updated_at": None}, ["updated_at_required"]),
    ("updated_at hour 24", {"updated_at": "2025-02-28 24:00:00"}, ["updated_at_valid_timestamp"]),
    ("updated_at ISO T", {"updated_at": "2025-02-28T08:00:00"}, ["updated_at_valid_timestamp"]),
    ("updated_at after the extract day", {"updated_at": "2025-03-02 00:00:00"},
     ["updated_at_not_after_extract_date"]),
    ("updated_at at the end of the extract day", {"updated_at": "2025-03-01 23:59:59"}, []),
]

ENROLMENT_CASES = [
    ("valid PU", {}, []),
    ("valid BPU", BPU, []),
    ("valid BPU paid by APBD", {**BPU, "contribution_source": "APBD"}, []),
    ("valid JAKON", {"segment": "JAKON", "kbli": "41011"}, []),
    ("valid NONAKTIF", NONAKTIF, []),
    ("valid BATAL without end_date", {"status": "BATAL"}, []),
    ("valid BATAL with end_date", {"status": "BATAL", "end_date": "2024-01-15"}, []),
    ("kpj leading zeros", {"kpj": "00000000001"}, []),
    ("kpj missing", {"kpj": None}, ["kpj_required"]),
    ("kpj 10 digits", {"kpj": "0001234567"}, ["kpj_format"]),
    ("kpj with a space", {"kpj": "0001234567 "}, ["kpj_format"]),
    ("nik missing", {"nik": None}, ["nik_required"]),
    ("nik 15 digits", {"nik": "357301520890000"}, ["nik_format"]),
    ("nik non-ASCII digit", {"nik": "357301520890000\u0662"}, ["nik_format"]),
    ("nik day 00", {"nik": "3573010008900002"}, ["nik_birth_day"]),
    ("nik day 32", {"nik": "3573013208900002"}, ["nik_birth_day"]),
    ("nik day 40", {"nik": "3573014008900002"}, ["nik_birth_day"]),
    ("nik day 72", {"nik": "3573017208900002"}, ["nik_birth_day"]),
    ("nik day 01", {"nik": "3573010108900002"}, []),
    ("nik day 31", {"nik": "3573013108900002"}, []),
    ("nik day 41", {"nik": "3573014108900002"}, []),
    ("nik day 71", {"nik": "3573017108900002"}, []),
    ("nik month 00", {"nik": "3573015200900002"}, ["nik_birth_month"]),
    ("nik month 13", {"nik": "3573015213900002"}, ["nik_birth_month"]),
    ("nik month 12", {"nik": "3573015212900002"}, []),
    ("npp 7 digits", {"npp": "0012345"}, ["npp_format"]),
    ("npp missing for PU", {"npp": None}, ["npp_required_for_pu_jakon"]),
    ("npp missing for JAKON", {"segment": "JAKON", "npp": None}, ["npp_required_for_pu_jakon"]),
    ("npp given for BPU", {**BPU, "npp": "00123456"}, ["npp_empty_for_bpu"]),
    ("segment missing", {"segment": None}, ["segment_required"]),
    ("segment lower case", {"segment": "pu"}, ["segment_in_set"]),
    ("kbli 6 digits", {"kbli": "471111"}, ["kbli_format"]),
    ("kbli division 34", {"kbli": "34111"}, ["kbli_division"]),
    ("kbli division 83", {"kbli": "83111"}, ["kbli_division"]),
    ("kbli missing for BPU", {**BPU, "kbli": None}, ["kbli_required_for_bpu"]),
    ("district missing", {"district": None}, ["district_required"]),
    ("district unknown", {"district": "MALANG"}, ["district_in_set"]),
    ("programs missing", {"programs": None}, ["programs_required"]),
    ("programs unknown code", {"programs": "JKK|JKM|XYZ"}, ["programs_format"]),
    ("programs trailing separator", {"programs": "JKK|JKM|"}, ["programs_format"]),
    ("programs lower case code", {"programs": "JKK|JKM|jht"}, ["programs_format"]),
    ("programs repeated", {"programs": "JKK|JKM|JKK"}, ["programs_no_repeats"]),
    ("programs JP repeated apart", {"programs": "JP|JKK|JKM|JP"}, ["programs_no_repeats"]),
    ("programs JP and JKP", {"programs": "JKK|JKM|JP|JKP"}, []),
    ("programs in another order", {"programs": "JHT|JKM|JKK"}, []),
    ("programs without JKM", {"programs": "JKK|JHT"}, ["programs_include_jkk_jkm"]),
    ("programs without JKK", {"programs": "JKM"}, ["programs_include_jkk_jkm"]),
    ("programs JP for BPU", {**BPU, "programs": "JKK|JKM|JP"}, ["programs_bpu_without_jp_jkp"]),
    ("programs JKP for BPU", {**BPU, "programs": "JKP|JKK|JKM"}, ["programs_bpu_without_jp_jkp"]),
    ("wage missing", {"wage": None}, ["wage_required"]),
    ("wage negative", {"wage": "-4500000"}, ["wage_non_negative_integer"]),
    ("wage with separators", {"wage": "4.500.000"}, ["wage_non_negative_integer"]),
    ("wage zero", {"wage": "0"}, []),
    ("contribution_source missing", {"contribution_source": None},
     ["contribution_source_required"]),
    ("contribution_source lower case", {"contribution_source": "employer"},
     ["contribution_source_in_set"]),
    ("contribution_source SELF for PU", {"contribution_source": "SELF"},
     ["contribution_source_employer_for_pu_jakon"]),
    ("contribution_source APBD for JAKON", {"segment": "JAKON", "contribution_source": "APBD"},
     ["contribution_source_employer_for_pu_jakon"]),
    ("contribution_source EMPLOYER for BPU", {**BPU, "contribution_source": "EMPLOYER"},
     ["contribution_source_self_or_apbd_for_bpu"]),
    ("start_date missing", {"start_date": None}, ["start_date_required"]),
    ("start_date 29 February of a common year", {"start_date": "2023-02-29"},
     ["start_date_valid_date"]),
    ("start_date 29 February 1900", {"start_date": "1900-02-29"}, ["start_date_valid_date"]),
    ("start_date 31 April", {"start_date": "2024-04-31"}, ["start_date_valid_date"]),
    ("start_date month 13", {"start_date": "2024-13-01"}, ["start_date_valid_date"]),
    ("start_date without zero padding", {"start_date": "2024-1-5"}, ["start_date_valid_date"]),
    ("start_date 29 February of a leap year", {"start_date": "2024-02-29"}, []),
    ("start_date 29 February 2000", {"start_date": "2000-02-29"}, []),
    ("start_date 31 December", {"start_date": "2024-12-31"}, []),
    ("start_date after the extract date", {"start_date": "2025-03-02"},
     ["start_date_not_after_extract_date"]),
    ("start_date on the extract date", {"start_date": EXTRACT_DATE}, []),
    ("end_date 31 June", {**NONAKTIF, "end_date": "2024-06-31"}, ["end_date_valid_date"]),
    ("end_date before start_date", {**NONAKTIF, "end_date": "2024-01-14"},
     ["end_date_not_before_start_date"]),
    ("end_date on start_date", {**NONAKTIF, "end_date": "2024-01-15"}, []),
    ("end_date for AKTIF", {"end_date": "2024-06-30"}, ["end_date_empty_when_aktif"]),
    ("end_date missing for NONAKTIF", {"status": "NONAKTIF"}, ["end_date_required_when_nonaktif"]),
    ("status missing", {"status": None}, ["status_required"]),
    ("status lower case", {"status": "aktif"}, ["status_in_set"]),
    ("status of employers", {"status": "TUTUP"}, ["status_in_set"]),
    ("updated_at missing", {"updated_at": None}, ["updated_at_required"]),
    ("updated_at 30 February", {"updated_at": "2025-02-30 08:00:00"},
     ["updated_at_valid_timestamp"]),
    ("updated_at minute 60", {"updated_at": "2025-02-28 08:60:00"}, ["updated_at_valid_timestamp"]),
    ("updated_at without seconds", {"updated_at": "2025-02-28 08:00"},
     ["updated_at_valid_timestamp"]),
    ("updated_at after the extract day", {"updated_at": "2025-03-02 00:00:00"},
     ["updated_at_not_after_extract_date"]),
    ("updated_at at the end of the extract day", {"updated_at": "2025-03-01 23:59:59"}, []),
    ("several rules at once",
     {**BPU, "kpj": "12", "npp": "00123456", "kbli": None, "programs": "JKK|JP",
      "updated_at": "2025-03-01"},
     ["kbli_required_for_bpu", "kpj_format", "npp_empty_for_bpu",
      "programs_bpu_without_jp_jkp", "programs_include_jkk_jkm", "updated_at_valid_timestamp"]),
]


def cases_frame(make_row, cases):
    # each case in a file of its own: no case is a duplicate of another
    rows = [make_row(**changes) | {"_file": f"case_{n}.csv"} for n, (_, changes, _) in enumerate(cases)]
    return pd.DataFrame(rows, dtype="str")


@pytest.fixture(scope="module")
def employer_failures():
    return validate_rows("employers", cases_frame(employer_row, EMPLOYER_CASES))


@pytest.fixture(scope="module")
def enrolment_failures():
    return validate_rows("enrolments", cases_frame(enrolment_row, ENROLMENT_CASES))


@pytest.mark.parametrize(
    ("row", "expected"),
    [(n, expected) for n, (_, _, expected) in enumerate(EMPLOYER_CASES)],
    ids=[case_id for case_id, _, _ in EMPLOYER_CASES],
)
def test_employer_row_rules(employer_failures, row, expected):
    assert employer_failures.get(row, []) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [(n, expected) for n, (_, _, expected) in enumerate(ENROLMENT_CASES)],
    ids=[case_id for case_id, _, _ in ENROLMENT_CASES],
)
def test_enrolment_row_rules(enrolment_failures, row, expected):
    assert enrolment_failures.get(row, []) == expected


@pytest.mark.parametrize(
    ("kind", "cases"), [("employers", EMPLOYER_CASES), ("enrolments", ENROLMENT_CASES)]
)
def test_every_rule_of_the_suite_has_a_breaking_case(kind, cases):
    broken = {rule for _, _, expected in cases for rule in expected}
    broken.add("conflicting_duplicate")  # tested below, it needs two rows

    assert {e.meta["rule"] for e in load_suite(kind).expectations} == broken


def test_rows_with_one_key_in_one_file_that_differ_are_all_conflicting_duplicates():
    frame = pd.DataFrame(
        [enrolment_row(kpj="00000000001"), enrolment_row(kpj="00000000002"),
         enrolment_row(kpj="00000000001", wage="5000000"), enrolment_row(kpj="00000000003")],
        dtype="str",
    )

    assert validate_rows("enrolments", frame) == {
        0: ["conflicting_duplicate"], 2: ["conflicting_duplicate"],
    }


def test_employers_with_one_npp_in_one_file_are_conflicting_duplicates():
    frame = pd.DataFrame(
        [employer_row(), employer_row(name="CV Sumber Rejeki Baru")], dtype="str"
    )

    assert validate_rows("employers", frame) == {
        0: ["conflicting_duplicate"], 1: ["conflicting_duplicate"],
    }


@pytest.mark.slow
def test_one_key_in_different_files_is_no_duplicate():
    frame = pd.DataFrame(
        [enrolment_row(_file="enrolments_20250301.csv"),
         enrolment_row(_file="enrolments_20250302.csv", _extract_date="2025-03-02"),
         enrolment_row(_file="enrolments_20250303.csv", _extract_date="2025-03-03",
                       wage="5000000")],
        dtype="str",
    )

    assert validate_rows("enrolments", frame) == {}


def test_rows_without_a_key_are_not_conflicting_duplicates():
    frame = pd.DataFrame([enrolment_row(kpj=None), enrolment_row(kpj=None, wage="1")],
                         dtype="str")

    assert validate_rows("enrolments", frame) == {0: ["kpj_required"], 1: ["kpj_required"]}


def test_extract_date_is_the_one_of_the_rows_file():
    frame = pd.DataFrame(
        [enrolment_row(start_date="2025-03-05", _file="enrolments_20250310.csv",
                       _extract_date="2025-03-10"),
         enrolment_row(start_date="2025-03-05")],
        dtype="str",
    )

    assert validate_rows("enrolments", frame) == {1: ["start_date_not_after_extract_date"]}


def test_failing_rows_are_named_by_the_frame_index_also_for_a_rule_on_some_rows():
    # npp_empty_for_bpu only looks at BPU rows; its row must keep its label
    frame = pd.DataFrame(
        [enrolment_row(kpj="00000000001"), enrolment_row(kpj="00000000002", **BPU),
         enrolment_row(kpj="00000000003", **{**BPU, "npp": "00123456"}),
         enrolment_row(kpj="00000000004", npp=None)],
        index=[10, 20, 30, 40],
        dtype="str",
    )

    assert validate_rows("enrolments", frame) == {
        30: ["npp_empty_for_bpu"], 40: ["npp_required_for_pu_jakon"],
    }


@pytest.mark.parametrize("dtype", ["str", object, "string"])
def test_text_in_any_pandas_text_dtype_gives_the_same_failures(dtype):
    frame = pd.DataFrame(
        [enrolment_row(kpj="00000000001", segment=None),
         enrolment_row(kpj="00000000002", npp="00123456\n", status="NONAKTIF"),
         enrolment_row(kpj="00000000003", **{**BPU, "npp": "00123456"})],
        dtype=dtype,
    )

    assert validate_rows("enrolments", frame) == {
        0: ["segment_required"],
        1: ["end_date_required_when_nonaktif", "npp_format"],
        2: ["npp_empty_for_bpu"],
    }


@pytest.mark.slow
def test_an_expectation_that_raises_is_a_validation_crash():
    frame = pd.DataFrame([enrolment_row()], dtype="str").drop(columns="status")

    with pytest.raises(ValidationCrash, match="status_required") as raised:
        validate_rows("enrolments", frame)

    assert "status" in str(raised.value)


def test_results_name_failing_rows_without_their_values():
    nik, kpj = "3573019912900002", "98765432100"
    frame = pd.DataFrame(
        [enrolment_row(nik=nik, kpj=kpj),
         enrolment_row(nik=nik, kpj=kpj, wage="1"), enrolment_row(kpj="123")],
        dtype="str",
    )

    validation = validate_rows_with_results("enrolments", frame)

    assert validation.failures == {
        0: ["conflicting_duplicate", "nik_birth_day"],
        1: ["conflicting_duplicate", "nik_birth_day"],
        2: ["kpj_format"],
    }
    assert not validation.results.success
    text = json.dumps(validation.results.to_json_dict())
    assert nik not in text
    assert kpj not in text
    assert '"123"' not in text


def test_a_valid_frame_passes_every_expectation():
    frame = pd.DataFrame([enrolment_row(kpj="00000000001"), enrolment_row(kpj="00000000002", **BPU)],
                         dtype="str")

    validation = validate_rows_with_results("enrolments", frame)

    assert validation.failures == {}
    assert validation.results.success
    assert len(validation.results.results) == len(load_suite("enrolments").expectations)


def test_an_empty_frame_has_no_failures():
    frame = pd.DataFrame(columns=list(enrolment_row()), dtype="str")

    assert validate_rows("enrolments", frame) == {}


def test_a_failing_expectation_that_names_no_rows_is_a_validation_crash(monkeypatch):
    table_level = gx.ExpectationSuite(
        name="enrolments",
        expectations=[gx.expectations.ExpectTableRowCountToBeBetween(
            min_value=2, meta={"rule": "at_least_two_rows"})],
    )
    monkeypatch.setattr(validate, "load_suite", lambda kind: table_level)

    with pytest.raises(ValidationCrash, match="at_least_two_rows.*without naming rows"):
        validate_rows("enrolments", pd.DataFrame([enrolment_row()], dtype="str"))


def hostile_frame(kind):
    """Every case of the kind, and copies of one key that differ (conflicting duplicates)
    and agree, in one file."""
    make_row, cases = (employer_row, EMPLOYER_CASES) if kind == "employers" else (enrolment_row, ENROLMENT_CASES)
    frame = cases_frame(make_row, cases)
    key, other_value = ("npp", {"name": "CV Lain"}) if kind == "employers" else ("kpj", {"wage": "1"})
    copies = pd.DataFrame([make_row(), make_row(**other_value), make_row(**{key: None})], dtype="str")
    return pd.concat([frame, copies], ignore_index=True)


def pandas_engine_failures(kind, frame):
    """The suite on GX's pandas engine, the same result format: {row: sorted rule ids}."""
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("pandas").add_dataframe_asset("rows")
        .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
    )
    results = batch.validate(load_suite(kind), result_format={
        "result_format": "COMPLETE", "exclude_unexpected_values": True,
    })
    failures = {}
    for result in results.results:
        assert not result.exception_info["raised_exception"], result.exception_info
        for row in result.result.get("unexpected_index_list") or []:
            failures.setdefault(row, []).append(result.expectation_config.meta["rule"])
    return {row: sorted(rules) for row, rules in failures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["employers", "enrolments"])
def test_sql_and_pandas_engines_flag_the_same_rows_with_the_same_rules(kind):
    frame = hostile_frame(kind)
    sql = validate_rows(kind, frame)

    assert sql == pandas_engine_failures(kind, frame)
    # every expectation of the suite is exercised: each rule flags some row
    assert {rule for rules in sql.values() for rule in rules} == {
        e.meta["rule"] for e in load_suite(kind).expectations
    }
