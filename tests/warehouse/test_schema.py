"""Opening a warehouse made before history and freshness existed brings it up to date."""

import time
from datetime import datetime, timezone

import duckdb
import pytest

from cakupan.ingest.extracts import KINDS, RAW_SOURCE_COLUMNS, raw_columns
from cakupan.warehouse.connection import connect, open_warehouse


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


@pytest.fixture
def in_jakarta(monkeypatch):
    """This process's local time is Asia/Jakarta (UTC+7) for the test."""
    monkeypatch.setenv("TZ", "Asia/Jakarta")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_times_of_an_older_warehouse_become_utc_instants_once(tmp_path, in_jakarta):
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    for schema in ("audit", "history"):
        old.execute(f"create schema {schema}")
    old.execute(
        "create table audit.runs (run_id varchar primary key, flow varchar not null, parameters varchar,"
        " started_at timestamp not null, finished_at timestamp, state varchar not null,"
        " files_loaded bigint, files_rejected bigint, as_of date)"
    )
    # the old runs.py wrote local times (09:00 in Jakarta), everything else naive UTC (02:05)
    old.execute("insert into audit.runs values ('done', 'backfill', '{}', '2025-01-01 09:00:00',"
                " '2025-01-01 09:10:00', 'COMPLETED', 1, 0, null),"
                " ('killed', 'backfill', '{}', '2025-01-02 09:00:00', null, 'RUNNING', null, null, null)")
    old.execute("create table audit.extract_files (file_name varchar, processed_at timestamp not null)")
    old.execute("insert into audit.extract_files values ('employers_20250101.csv', '2025-01-01 02:05:00')")
    old.execute("create table history.publications (run_id varchar, published_at timestamp not null)")
    old.execute("insert into history.publications values ('done', '2025-01-01 02:09:00')")
    old.close()

    utc = timezone.utc
    for _ in range(2):  # converted once: the second open changes nothing
        with connect(path) as con:
            runs = con.execute("select run_id, started_at, finished_at from audit.runs order by run_id").fetchall()
            processed = con.execute("select processed_at from audit.extract_files").fetchall()
            published = con.execute("select published_at from history.publications").fetchall()
            shown = con.execute("select started_at::varchar from audit.runs where run_id = 'done'").fetchone()
        assert runs == [
            ("done", datetime(2025, 1, 1, 2, 0, tzinfo=utc), datetime(2025, 1, 1, 2, 10, tzinfo=utc)),
            ("killed", datetime(2025, 1, 2, 2, 0, tzinfo=utc), None),
        ]
        assert processed == [(datetime(2025, 1, 1, 2, 5, tzinfo=utc),)]
        assert published == [(datetime(2025, 1, 1, 2, 9, tzinfo=utc),)]
        assert shown == ("2025-01-01 02:00:00+00",)  # shown in UTC, not in the machine's zone


@pytest.mark.parametrize("kind", KINDS)
def test_raw_tables_hold_the_extract_columns_of_the_extract_interface(tmp_path, kind):
    """warehouse/schema.sql spells raw.* in SQL; ingest/extracts.py is the one definition of the
    columns and their types, which the pseudonymised Parquet is written from."""
    con = open_warehouse(tmp_path / "cakupan.duckdb")
    expected = [(column, type_.upper()) for column, type_ in (RAW_SOURCE_COLUMNS | raw_columns(kind)).items()]
    for table in (kind, f"superseded_{kind}"):
        described = [(row[0], row[1]) for row in con.execute(f"describe raw.{table}").fetchall()]
        assert described == expected
    con.close()
