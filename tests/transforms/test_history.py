"""history.*: every publication appends what it published; mart.* equals the latest one."""

from datetime import date

import pytest

from cakupan.warehouse.history import HISTORY_TABLES

from .conftest import account, employer, kpj, nik


def marts(landing) -> dict[str, list[tuple]]:
    return {table: landing.con.execute(f"select * from mart.{table} order by all").fetchall()
            for table in HISTORY_TABLES}


def published_by(landing, run_id: str) -> dict[str, list[tuple]]:
    return {
        table: landing.con.execute(
            f"select * exclude (run_id) from history.{table} where run_id = ? order by all", [run_id]
        ).fetchall()
        for table in HISTORY_TABLES
    }


def publications(landing) -> list[dict]:
    return landing.rows(
        "select run_id, flow, as_of, files_loaded, files_rejected, changed from history.publications"
        " order by published_at"
    )


def test_history_columns_are_run_id_then_the_columns_of_the_mart(landing):
    landing.publish("run-1")
    for table in HISTORY_TABLES:
        mart = [(c["column_name"], c["column_type"]) for c in landing.rows(f"describe mart.{table}")]
        kept = [(c["column_name"], c["column_type"]) for c in landing.rows(f"describe history.{table}")]
        assert kept == [("run_id", "VARCHAR"), *mart]


def test_three_growing_nights_give_three_publications_equal_to_the_marts_of_each_moment(landing):
    landing.deliver("employers", "2025-03-01", [employer("10000001")])
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    landing.publish("night-1")
    first = marts(landing)
    landing.deliver("enrolments", "2025-03-02", [account(kpj(2), nik(2), "BPU", district="SUKUN")])
    landing.publish("night-2")
    second = marts(landing)
    landing.deliver("enrolments", "2025-03-03", [account(kpj(3), nik(3), start_date="2025-03-03")])
    landing.publish("night-3")
    third = marts(landing)

    assert len({str(first), str(second), str(third)}) == 3  # every night moved something
    assert published_by(landing, "night-1") == first
    assert published_by(landing, "night-2") == second
    assert published_by(landing, "night-3") == third == marts(landing)
    assert publications(landing) == [
        {"run_id": f"night-{n}", "flow": "nightly", "as_of": date(2025, 3, n), "files_loaded": 1,
         "files_rejected": 0, "changed": True}
        for n in (1, 2, 3)
    ]
    covered_2025 = landing.rows(
        "select run_id, covered from history.coverage_city_year where year = 2025 order by run_id"
    )
    assert [row["covered"] for row in covered_2025] == [1, 2, 3]


def test_a_redelivery_that_moves_a_past_figure_is_a_change_and_the_old_figure_is_kept(landing):
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2))])
    landing.publish("before")
    # BPJS re-delivers the same day: the second account had ended in 2024
    landing.deliver("enrolments", "2025-03-01", [
        account(kpj(1), nik(1)), account(kpj(2), nik(2), end_date="2024-06-30"),
    ])
    record = landing.publish("after")

    assert record.changed is True and record.as_of == date(2025, 3, 1)
    covered_2024 = dict(
        landing.con.execute("select run_id, covered from history.coverage_city_year where year = 2024").fetchall()
    )
    assert covered_2024 == {"before": 2, "after": 1}
    assert landing.one("select covered from mart.coverage_city_year where year = 2024")["covered"] == 1


def test_a_publication_that_moves_no_figure_is_not_a_change_even_when_as_of_moves(landing):
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    assert landing.publish("first").changed is True  # the first publication always is
    assert landing.publish("same-data").changed is False
    landing.deliver("enrolments", "2025-03-02", [])  # a new day with nothing new: only ref_date moves
    record = landing.publish("empty-day")
    assert (record.changed, record.as_of) == (False, date(2025, 3, 2))
    landing.deliver("enrolments", "2025-03-03", [account(kpj(2), nik(2), district="BLIMBING")])
    assert landing.publish("new-person").changed is True


def test_a_change_in_one_district_alone_is_a_change(landing):
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1), district="KLOJEN")])
    landing.publish("first")
    # same person, same sector, same category: only the district moves
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1), district="SUKUN")])
    assert landing.publish("moved").changed is True


def test_a_retried_run_that_publishes_again_appends_under_a_suffixed_id(landing):
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    landing.publish("run-a", flow="backfill")
    landing.deliver("enrolments", "2025-03-02", [account(kpj(2), nik(2))])
    landing.publish("run-a", flow="backfill")
    assert [(p["run_id"], p["as_of"]) for p in publications(landing)] == [
        ("run-a", date(2025, 3, 1)), ("run-a~2", date(2025, 3, 2)),
    ]
    assert published_by(landing, "run-a~2") == marts(landing)


def test_a_failing_rebuild_appends_no_history(landing):
    landing.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    landing.publish("good")
    landing.con.execute("drop table ref.umk")
    with pytest.raises(Exception, match="umk"):
        landing.publish("broken")
    assert [p["run_id"] for p in publications(landing)] == ["good"]
    assert landing.one("select count(distinct run_id) as n from history.coverage_city_year")["n"] == 1
