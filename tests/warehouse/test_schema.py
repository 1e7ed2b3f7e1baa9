"""Opening a warehouse made before history and freshness existed brings it up to date."""

import duckdb

from cakupan.warehouse.connection import open_warehouse


def test_a_warehouse_from_before_history_gets_the_new_tables_and_columns_when_opened(tmp_path):
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("create schema audit")
    old.execute(
        "create table audit.runs (run_id varchar primary key, flow varchar not null, parameters varchar,"
        " started_at timestamp not null, finished_at timestamp, state varchar not null,"
        " files_loaded bigint, files_rejected bigint, as_of date)"
    )
    old.execute("insert into audit.runs values ('old-run', 'nightly', '{}', now(), now(), 'COMPLETED', 2, 0, null)")
    old.close()

    for _ in range(2):  # idempotent: every open runs the schema
        con = open_warehouse(path)
        columns = [row[0] for row in con.execute("describe audit.runs").fetchall()]
        history = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'history'").fetchall()}
        runs = con.execute("select run_id, state, freshness from audit.runs").fetchall()
        assert columns[-1] == "freshness"
        raw = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
        assert history == {"publications", "coverage_city_year", "coverage_sector_year", "coverage_district_year",
                           "publication_files", "file_version_changes"}
        assert raw == {"employers", "enrolments", "superseded_employers", "superseded_enrolments"}
        assert runs == [("old-run", "COMPLETED", None)]
        con.close()
