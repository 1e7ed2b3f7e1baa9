"""The runner: dependency order, one transaction, identical rebuilds, empty warehouse."""

import duckdb
import pytest

from cakupan.transforms import LAYERS, Model, TransformError, build, dependency_order, load_models

from .conftest import account, employer, kpj, nik

PUBLISHED = ("coverage_city_year", "coverage_sector_year", "coverage_district_year", "employer_compliance")


def published_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {table: con.execute(f"select * from mart.{table} order by all").fetchall() for table in PUBLISHED}


def test_every_model_runs_after_the_models_it_reads_and_layers_run_in_order():
    models = load_models()
    position = {model.relation: index for index, model in enumerate(models)}
    for model in models:
        assert all(position[read] < position[model.relation] for read in model.depends_on()), model.relation
    layers = [LAYERS.index(model.layer) for model in models]
    assert layers == sorted(layers)
    assert {f"mart.{table}" for table in PUBLISHED} <= position.keys()


def test_a_model_reading_an_unknown_model_is_named_in_the_error():
    broken = Model("core", "broken", "select * from staging.nowhere")
    with pytest.raises(TransformError, match=r"transforms/core/broken.sql: reads staging.nowhere"):
        dependency_order([broken])


def test_a_model_reading_a_later_layer_is_refused():
    staging = Model("staging", "early", "select * from mart.late")
    mart = Model("mart", "late", "select 1 as one")
    with pytest.raises(TransformError, match=r"transforms/staging/early.sql: reads mart.late of a later layer"):
        dependency_order([staging, mart])


def test_with_nothing_loaded_the_published_tables_exist_and_are_empty(pipeline):
    pipeline.build()
    assert published_tables(pipeline.con) == {table: [] for table in PUBLISHED}
    columns = pipeline.rows("describe mart.coverage_city_year")
    assert [(c["column_name"], c["column_type"]) for c in columns] == [
        ("year", "INTEGER"), ("ref_date", "DATE"), ("workforce", "BIGINT"),
        ("workforce_carried_forward", "BOOLEAN"), ("covered", "BIGINT"), ("covered_formal", "BIGINT"),
        ("covered_informal", "BIGINT"), ("covered_vulnerable", "BIGINT"), ("coverage_rate", "DOUBLE"),
        ("target_rate", "DOUBLE"), ("gap_workers", "BIGINT"), ("on_track", "BOOLEAN"),
    ]


def test_published_columns_and_types_match_the_interface(pipeline):
    pipeline.build()
    types = {
        table: [(c["column_name"], c["column_type"]) for c in pipeline.rows(f"describe mart.{table}")]
        for table in PUBLISHED[1:]
    }
    counts = [("covered", "BIGINT"), ("covered_formal", "BIGINT"), ("covered_informal", "BIGINT"),
              ("covered_vulnerable", "BIGINT")]
    assert types["coverage_sector_year"] == [
        ("year", "INTEGER"), ("ref_date", "DATE"), ("sector", "VARCHAR"), ("sector_name", "VARCHAR"),
        ("workforce", "BIGINT"), ("workforce_formal", "BIGINT"), ("workforce_carried_forward", "BOOLEAN"),
        *counts, ("coverage_rate", "DOUBLE"), ("formal_coverage_rate", "DOUBLE"), ("target_rate", "DOUBLE"),
        ("gap_workers", "BIGINT"), ("on_track", "BOOLEAN"),
    ]
    assert types["coverage_district_year"] == [
        ("year", "INTEGER"), ("ref_date", "DATE"), ("district", "VARCHAR"), *counts,
    ]
    assert types["employer_compliance"] == [
        ("npp", "VARCHAR"), ("name", "VARCHAR"), ("sector", "VARCHAR"), ("district", "VARCHAR"),
        ("size_class", "VARCHAR"), ("reported_workers", "BIGINT"), ("enrolled_workers", "BIGINT"),
        ("unregistered_workers", "BIGINT"), ("below_umk_accounts", "BIGINT"), ("pds_workers", "BOOLEAN"),
        ("pds_wage", "BOOLEAN"),
    ]


@pytest.mark.slow
def test_a_failing_model_leaves_the_previous_published_tables_intact(pipeline):
    pipeline.deliver("employers", "2025-06-30", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-06-30", [account(kpj(1), nik(1))])
    pipeline.build()
    before = published_tables(pipeline.con)
    pipeline.deliver("enrolments", "2025-07-31", [account(kpj(2), nik(2))])
    pipeline.con.execute("drop table ref.umk")  # staging/umk.sql can no longer be built

    with pytest.raises(TransformError, match=r"transforms/staging/umk.sql: .*umk"):
        pipeline.build()

    assert published_tables(pipeline.con) == before
    assert pipeline.one("select count(*) as n from mart.coverage_city_year where year = 2025")["n"] == 1
    # the connection is usable again: no transaction left open
    pipeline.con.execute("begin transaction")
    pipeline.con.execute("rollback")


@pytest.mark.slow
def test_rebuilding_from_the_same_loaded_data_gives_identical_tables(pipeline):
    pipeline.deliver("employers", "2025-06-30", [employer("10000001"), employer("10000002", kbli="47111")])
    pipeline.deliver("enrolments", "2025-06-30", [
        account(kpj(1), nik(1)),
        account(kpj(2), nik(1), "BPU"),
        account(kpj(3), nik(2), npp="10000002", wage=1_000_000),
        account(kpj(4), nik(3), "BPU", contribution_source="APBD", district="SUKUN"),
    ])
    pipeline.build()
    first = {
        table: pipeline.con.execute(f"select * from mart.{table}").fetchall() for table in PUBLISHED
    }
    pipeline.build()
    second = {
        table: pipeline.con.execute(f"select * from mart.{table}").fetchall() for table in PUBLISHED
    }
    assert first == second
    assert first["coverage_city_year"]  # not trivially equal
