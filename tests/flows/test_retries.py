from prefect import flow

from cakupan.config import run_settings
from cakupan.flows.tasks import report as report_tasks
from cakupan.warehouse.connection import connect


def _run_with(monkeypatch, warehouse, failure):
    calls = []

    def write_report(con, out_dir, **_):
        calls.append(out_dir)
        if len(calls) == 1:
            raise failure

    monkeypatch.setattr(report_tasks, "write_report", write_report)
    task = report_tasks.write_coverage_report.with_options(retry_delay_seconds=0)

    with connect(warehouse):  # the warehouse exists, as after a load
        pass

    @flow
    def one_step():
        return task(str(warehouse), run_settings(), return_state=True)

    return one_step(return_state=True), calls


def test_an_io_failure_is_retried(prefect_api, monkeypatch, warehouse):
    state, calls = _run_with(monkeypatch, warehouse, OSError("disk busy"))
    assert state.is_completed()
    assert len(calls) == 2


def test_a_logic_failure_is_not_retried(prefect_api, monkeypatch, warehouse):
    state, calls = _run_with(monkeypatch, warehouse, ValueError("a bug"))
    assert state.is_failed()
    assert len(calls) == 1
