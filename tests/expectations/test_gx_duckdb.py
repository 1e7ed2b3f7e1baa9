"""GX's SQL engine on DuckDB: each workaround of gx_duckdb.py is needed (the suite fails
or names the wrong rows without it) and does its job."""

import duckdb
import duckdb_engine
import great_expectations as gx
import pytest
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from sqlalchemy.pool import NullPool

from cakupan.ingest.validate import gx_duckdb, suites
from cakupan.ingest.validate.re2 import re2_pattern
from cakupan.ingest.validate.suites import ValidationCrash, validate_table

RULE = {"rule": "under_test"}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        """
        create table rows as
        select * from (values
            (1, 'f.csv', '00000001', 'A'),
            (2, 'f.csv', '00000001', 'B'),
            (3, 'f.csv', '0000002' || chr(10), 'C'),
            (4, 'g.csv', '00000001', 'D'),
            (5, 'f.csv', null, 'E'),
            (6, 'f.csv', null, 'F')
        ) t(_id, _file, npp, name)
        """
    )
    yield con
    con.close()


def failures(monkeypatch, con, *expectations):
    suite = gx.ExpectationSuite(name="employers", expectations=list(expectations))
    monkeypatch.setattr(suites, "load_suite", lambda kind: suite)
    return validate_table("employers", con, "rows").failures


def test_without_buffered_results_every_metric_fails(monkeypatch, con):
    monkeypatch.setattr(SqlAlchemyExecutionEngine, "execute_query", gx_duckdb.GX_EXECUTE_QUERY)

    with pytest.raises(ValidationCrash, match="under_test.*raised"):
        failures(monkeypatch, con, gx.expectations.ExpectColumnValuesToNotBeNull(column="npp", meta=RULE))


def test_buffered_results_name_the_failing_rows(monkeypatch, con):
    assert failures(
        monkeypatch, con, gx.expectations.ExpectColumnValuesToNotBeNull(column="npp", meta=RULE)
    ) == {5: ["under_test"], 6: ["under_test"]}


NPP_FORMAT = gx.expectations.ExpectColumnValuesToMatchRegex(column="npp", regex=r"^[0-9]{8}\Z", meta=RULE)


def test_without_the_duckdb_regex_branch_regex_rules_do_not_run(monkeypatch, con):
    gx_duckdb.use_regex_expression(gx_duckdb.GX_REGEX_EXPRESSION)
    try:
        with pytest.raises(ValidationCrash, match="under_test.*raised.*duckdb"):
            failures(monkeypatch, con, NPP_FORMAT)
    finally:
        gx_duckdb.install()


def test_regex_rules_search_with_python_end_of_text(monkeypatch, con):
    # '0000002\n': \Z (RE2 \z) is the very end, so the line break fails the rule; a
    # `$` would pass it, and a full match (`~` in DuckDB) would differ for searches.
    assert failures(monkeypatch, con, NPP_FORMAT) == {3: ["under_test"]}
    assert failures(
        monkeypatch, con,
        gx.expectations.ExpectColumnValuesToNotMatchRegex(column="name", regex="[CD]", meta=RULE),
    ) == {3: ["under_test"], 4: ["under_test"]}


@pytest.mark.parametrize(
    ("regex", "re2"),
    [(r"^a\Z", r"^a\z"), (r"a\\Z", r"a\\Z"), (r"(?:x|\Z)", r"(?:x|\z)"), (r"\d{3}", r"\d{3}")],
)
def test_re2_pattern_rewrites_only_end_of_text(regex, re2):
    assert re2_pattern(regex) == re2


COMPOUND = gx.expectations.ExpectCompoundColumnsToBeUnique(
    column_list=["_file", "npp"], ignore_row_if="any_value_is_missing", meta=RULE
)


def test_gx_names_no_rows_of_a_compound_expectation_on_sql(con):
    # The upstream gap the workaround fills: no index list, and an index query that fails.
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(
        "raw", connection_string="duckdb:///:memory:",
        kwargs={"creator": lambda: duckdb_engine.ConnectionWrapper(con.cursor()), "poolclass": NullPool},
    )
    batch = source.add_table_asset("rows", table_name="rows").add_batch_definition_whole_table("all").get_batch()
    result = batch.validate(COMPOUND, result_format={
        **suites.RESULT_FORMAT, "return_unexpected_index_query": True, "partial_unexpected_count": 10,
    })

    assert result.result["unexpected_count"] == 2
    assert "unexpected_index_list" not in result.result
    with pytest.raises(duckdb.Error):
        con.execute(result.result["unexpected_index_query"]).fetchall()


def test_compound_expectation_names_its_rows(monkeypatch, con):
    # rows 1 and 2 share (f.csv, 00000001); 4 is another file; 5 and 6 have no npp
    assert failures(monkeypatch, con, COMPOUND) == {1: ["under_test"], 2: ["under_test"]}


@pytest.mark.parametrize("ignore_row_if", ["never", "all_values_are_missing"])
def test_compound_expectation_counts_as_gx_does_whatever_rows_it_ignores(monkeypatch, con, ignore_row_if):
    # On SQL a NULL equals nothing: rows 5 and 6 are no copies, as GX counts them too
    # (a count differing from GX's would be a crash, see below).
    looser = gx.expectations.ExpectCompoundColumnsToBeUnique(
        column_list=["_file", "npp"], ignore_row_if=ignore_row_if, meta=RULE
    )
    assert failures(monkeypatch, con, looser) == {1: ["under_test"], 2: ["under_test"]}


def test_more_failing_rows_than_gx_lists_by_default_are_all_named(monkeypatch):
    # GX cuts SQL index lists at partial_unexpected_count (20 by default)
    con = duckdb.connect()
    con.execute("create table rows as select i as _id, 'f.csv' as _file, null::varchar as npp from range(500) t(i)")

    assert len(failures(
        monkeypatch, con, gx.expectations.ExpectColumnValuesToNotBeNull(column="npp", meta=RULE)
    )) == 500


def test_ids_fewer_than_gx_counted_are_a_crash():
    result = {"unexpected_index_list": [{"_id": [5]}], "unexpected_count": 2}

    with pytest.raises(gx_duckdb.UnnamedRows, match="counted 2 failing rows, 1 were named"):
        gx_duckdb.unexpected_index_ids(None, "rows", {"type": "x", "kwargs": {}}, result, "_id")
