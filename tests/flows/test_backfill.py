from datetime import date

import pytest

import cakupan.flows.steps as steps
from cakupan.errors import NothingToResume
from cakupan.flows.backfill import backfill
from cakupan.ingest import discover
from cakupan.warehouse.connection import connect


@pytest.fixture
def third_chunk_fails(monkeypatch):
    """Chunks of 4 files; loading the third chunk tried dies of I/O (only that once).
    Yields the files of the chunks tried."""
    monkeypatch.setattr(
        steps, "plan", lambda files, **options: discover.plan(files, **options, chunk_files=4)
    )
    real_load, calls = steps.load, []

    def failing_third_load(warehouse, quoted_results, run_id, memory_limit):
        results = quoted_results.unquote()  # quoted for Prefect by the step (flows/steps.py)
        calls.append(sorted({f.name for result in results for f in result.files}))
        if len(calls) == 3:
            raise OSError("disk went away")
        return real_load(warehouse, quoted_results, run_id, memory_limit)

    monkeypatch.setattr(steps, "load", failing_third_load)
    return calls


def loaded_by_run(warehouse):
    with connect(warehouse, read_only=True) as con:
        return dict(
            con.execute("select file_name, run_id from audit.extract_files where status = 'LOADED'").fetchall()
        )


def test_backfill_reloads_files_in_range_even_when_unchanged(prefect_api, landing, pii_key, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    first = backfill(start=date(2025, 3, 1), end=date(2025, 3, 12), landing=str(landing), warehouse=warehouse,
                     return_state=True)
    second = backfill(start=date(2025, 3, 10), end=date(2025, 3, 12), landing=str(landing), warehouse=warehouse,
                      return_state=True)
    assert first.is_completed() and second.is_completed()
    runs = loaded_by_run(warehouse)
    assert len(runs) == 24
    assert {name for name, run in runs.items() if run == second.result(raise_on_failure=False).run_id} == {
        f"{kind}_202503{day}.csv" for kind in ("employers", "enrolments") for day in (10, 11, 12)
    }


def test_resume_redoes_only_the_files_the_failed_backfill_did_not_complete(
    prefect_api, landing, pii_key, tmp_path, third_chunk_fails
):
    warehouse = str(tmp_path / "w.duckdb")
    calls = third_chunk_fails
    failed = backfill(start=date(2025, 3, 1), end=date(2025, 3, 12), landing=str(landing), warehouse=warehouse,
                      return_state=True)
    assert failed.is_failed()
    done_before = loaded_by_run(warehouse)
    assert sorted(done_before) == sorted(calls[0] + calls[1])

    resumed = backfill(start=date(2025, 3, 1), end=date(2025, 3, 12), resume=True, landing=str(landing),
                       warehouse=warehouse, return_state=True)
    assert resumed.is_completed(), resumed.message
    after = loaded_by_run(warehouse)
    assert len(after) == 24
    # the files of the first two chunks keep the failed run's id: they were not redone
    assert {name: after[name] for name in done_before} == done_before
    assert {run for name, run in after.items() if name not in done_before} == {resumed.result(raise_on_failure=False).run_id}


def test_resume_without_a_failed_backfill_is_refused(prefect_api, landing, pii_key, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    backfill(start=date(2025, 3, 1), end=date(2025, 3, 12), landing=str(landing), warehouse=warehouse)
    state = backfill(start=date(2025, 3, 1), end=date(2025, 3, 12), resume=True, landing=str(landing),
                     warehouse=warehouse, return_state=True)
    assert state.is_failed()
    with pytest.raises(NothingToResume, match="no failed backfill from 2025-03-01 to 2025-03-12"):
        state.result()


def test_a_retried_backfill_flow_run_skips_what_its_first_attempt_loaded(
    prefect_api, landing, pii_key, tmp_path, third_chunk_fails
):
    warehouse = str(tmp_path / "w.duckdb")
    calls = third_chunk_fails
    retried = backfill.with_options(retries=1, retry_delay_seconds=0)
    state = retried(start=date(2025, 3, 1), end=date(2025, 3, 12), landing=str(landing), warehouse=warehouse,
                    return_state=True)
    assert state.is_completed(), state.message
    first_attempt = calls[0] + calls[1]
    second_attempt = [name for chunk in calls[3:] for name in chunk]
    assert not set(first_attempt) & set(second_attempt)
    assert sorted(first_attempt + second_attempt) == sorted(loaded_by_run(warehouse))
    assert len(loaded_by_run(warehouse)) == 24
