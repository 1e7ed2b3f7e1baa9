"""history.*: every publication appends what it published; mart.* equals the latest one."""

from datetime import date

import pytest

from cakupan.warehouse.publications import HISTORY_TABLES

from .conftest import account, employer, kpj, nik


def marts(pipeline) -> dict[str, list[tuple]]:
    return {table: pipeline.con.execute(f"select * from mart.{table} order by all").fetchall()
            for table in HISTORY_TABLES}


def published_by(pipeline, run_id: str) -> dict[str, list[tuple]]:
    return {
        table: pipeline.con.execute(
            f"select * exclude (run_id) from history.{table} where run_id = ? order by all", [run_id]
        ).fetchall()
        for table in HISTORY_TABLES
    }


def publications(pipeline) -> list[dict]:
    return pipeline.rows(
        "select run_id, flow, as_of, files_loaded, files_rejected, changed from history.publications"
        " order by published_at"
    )


def test_history_columns_are_run_id_then_the_columns_of_the_mart(pipeline):
    pipeline.publish("run-1")
    for table in HISTORY_TABLES:
        mart = [(c["column_name"], c["column_type"]) for c in pipeline.rows(f"describe mart.{table}")]
        kept = [(c["column_name"], c["column_type"]) for c in pipeline.rows(f"describe history.{table}")]
        assert kept == [("run_id", "VARCHAR"), *mart]


@pytest.mark.slow
def test_three_growing_nights_give_three_publications_equal_to_the_marts_of_each_moment(pipeline):
    pipeline.deliver("employers", "2025-03-01", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    pipeline.publish("night-1")
    first = marts(pipeline)
    pipeline.deliver("enrolments", "2025-03-02", [account(kpj(2), nik(2), "BPU", district="SUKUN")])
    pipeline.publish("night-2")
    second = marts(pipeline)
    pipeline.deliver("enrolments", "2025-03-03", [account(kpj(3), nik(3), start_date="2025-03-03")])
    pipeline.publish("night-3")
    third = marts(pipeline)

    assert len({str(first), str(second), str(third)}) == 3  # every night moved something
    assert published_by(pipeline, "night-1") == first
    assert published_by(pipeline, "night-2") == second
    assert published_by(pipeline, "night-3") == third == marts(pipeline)
    assert publications(pipeline) == [
        {"run_id": f"night-{n}", "flow": "nightly", "as_of": date(2025, 3, n), "files_loaded": 1,
         "files_rejected": 0, "changed": True}
        for n in (1, 2, 3)
    ]
    covered_2025 = pipeline.rows(
        "select run_id, covered from history.coverage_city_year where year = 2025 order by run_id"
    )
    assert [row["covered"] for row in covered_2025] == [1, 2, 3]


@pytest.mark.slow
def test_a_redelivery_that_moves_a_past_figure_is_a_change_and_the_old_figure_is_kept(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2))])
    pipeline.publish("before")
    # BPJS re-delivers the same day: the second account had ended in 2024
    pipeline.deliver("enrolments", "2025-03-01", [
        account(kpj(1), nik(1)), account(kpj(2), nik(2), end_date="2024-06-30"),
    ])
    record = pipeline.publish("after")

    assert record.changed is True and record.as_of == date(2025, 3, 1)
    covered_2024 = dict(
        pipeline.con.execute("select run_id, covered from history.coverage_city_year where year = 2024").fetchall()
    )
    assert covered_2024 == {"before": 2, "after": 1}
    assert pipeline.one("select covered from mart.coverage_city_year where year = 2024")["covered"] == 1


@pytest.mark.slow
def test_a_publication_that_moves_no_figure_is_not_a_change_even_when_as_of_moves(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    assert pipeline.publish("first").changed is True  # the first publication always is
    assert pipeline.publish("same-data").changed is False
    pipeline.deliver("enrolments", "2025-03-02", [])  # a new day with nothing new: only ref_date moves
    record = pipeline.publish("empty-day")
    assert (record.changed, record.as_of) == (False, date(2025, 3, 2))
    pipeline.deliver("enrolments", "2025-03-03", [account(kpj(2), nik(2), district="BLIMBING")])
    assert pipeline.publish("new-person").changed is True


@pytest.mark.slow
def test_a_change_in_one_district_alone_is_a_change(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1), district="KLOJEN")])
    pipeline.publish("first")
    # same person, same sector, same category: only the district moves
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1), district="SUKUN")])
    assert pipeline.publish("moved").changed is True


@pytest.mark.slow
def test_a_retried_run_that_publishes_again_appends_under_a_suffixed_id(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    pipeline.publish("run-a", flow="backfill")
    pipeline.deliver("enrolments", "2025-03-02", [account(kpj(2), nik(2))])
    pipeline.publish("run-a", flow="backfill")
    assert [(p["run_id"], p["as_of"]) for p in publications(pipeline)] == [
        ("run-a", date(2025, 3, 1)), ("run-a~2", date(2025, 3, 2)),
    ]
    assert published_by(pipeline, "run-a~2") == marts(pipeline)


@pytest.mark.slow
def test_a_failing_rebuild_appends_no_history(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    pipeline.publish("good")
    pipeline.con.execute("drop table ref.umk")
    with pytest.raises(Exception, match="umk"):
        pipeline.publish("broken")
    assert [p["run_id"] for p in publications(pipeline)] == ["good"]
    assert pipeline.one("select count(distinct run_id) as n from history.coverage_city_year")["n"] == 1
