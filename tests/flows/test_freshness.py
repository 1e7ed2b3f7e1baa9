"""A nightly checks the deliveries: late warns and completes, stale publishes then fails."""

import logging
from datetime import date

from cakupan.flows.nightly import nightly
from cakupan.warehouse.connection import connect


def run_row(warehouse):
    with connect(warehouse, read_only=True) as con:
        return con.execute("select flow, state, freshness from audit.runs").fetchall()


def test_a_late_kind_warns_records_late_posts_an_artifact_and_completes(
    prefect_api, pii_key, tmp_landing, write_extract, employer, enrolment, tmp_path, caplog
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    warehouse = str(tmp_path / "w.duckdb")
    write_extract("employers_20250301.csv", [employer(1)])
    write_extract("enrolments_20250303.csv", [enrolment(1)])
    with caplog.at_level(logging.WARNING):
        state = nightly(as_of=date(2025, 3, 3), landing=str(tmp_landing), warehouse=warehouse, return_state=True)

    assert state.is_completed(), state.message
    assert run_row(warehouse) == [("nightly", "COMPLETED", "late")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "employers extract late: newest 2025-03-01, 2 days before 2025-03-03" in warnings
    with get_client(sync_client=True) as client:
        (artifact,) = [
            a for a in client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["cakupan-freshness"])))
            if a.flow_run_id == state.state_details.flow_run_id
        ]
    assert artifact.type == "table"
    rows = {row["kind"]: row for row in __import__("json").loads(artifact.data)}
    assert (rows["employers"]["newest_extract"], rows["employers"]["days_before_run_date"],
            rows["employers"]["freshness"]) == ("2025-03-01", 2, "late")
    assert (rows["enrolments"]["newest_extract"], rows["enrolments"]["freshness"]) == ("2025-03-03", "fresh")


def test_a_stale_nightly_publishes_then_exits_1_with_one_line(
    cakupan_command, tmp_landing, write_extract, employer, enrolment, tmp_path
):
    warehouse = str(tmp_path / "w.duckdb")
    write_extract("employers_20250301.csv", [employer(1)])
    write_extract("enrolments_20250305.csv", [enrolment(1)])
    result = cakupan_command("nightly", "--as-of", "2025-03-05", "--landing", tmp_landing, "--warehouse", warehouse)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "error: employers extract stale: newest 2025-03-01, 4 days before 2025-03-05" in result.stderr
    assert run_row(warehouse) == [("nightly", "FAILED", "stale")]
    with connect(warehouse, read_only=True) as con:  # it published what it had
        assert con.execute("select as_of, files_loaded from history.publications").fetchall() == [(date(2025, 3, 5), 2)]
        assert con.execute("select covered from mart.coverage_city_year where year = 2025").fetchall() == [(1,)]
    assert (tmp_path / "report" / "index.html").is_file()

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # Failed in Prefect too, so automations see it
        (run,) = [r for r in client.read_flow_runs() if r.parameters.get("landing") == str(tmp_landing)]
    assert run.state.is_failed()
    assert run.state.message == "employers extract stale: newest 2025-03-01, 4 days before 2025-03-05"
