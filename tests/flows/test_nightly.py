from datetime import date

from cakupan.flows.backfill import backfill
from cakupan.flows.nightly import nightly
from cakupan.warehouse.connection import connect

MARTS = ("coverage_city_year", "coverage_sector_year", "coverage_district_year", "employer_compliance")


def published(warehouse):
    with connect(warehouse, read_only=True) as con:
        return {name: con.execute(f"select * from mart.{name} order by all").fetchall() for name in MARTS}


def audit_counts(warehouse):
    with connect(warehouse, read_only=True) as con:
        return dict(con.execute("select status, count(*) from audit.extract_files group by 1").fetchall())


def test_nightly_loads_every_file_up_to_as_of_and_publishes(prefect_api, landing, pii_key, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    state = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True)
    assert state.is_completed(), state.message
    assert audit_counts(warehouse) == {"LOADED": 24}
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select max(year), max(ref_date) from mart.coverage_city_year").fetchone() == (
            2025, date(2025, 3, 12))
        run = con.execute("select flow, state, files_loaded, files_rejected, as_of from audit.runs").fetchall()
    assert run == [("nightly", "COMPLETED", 24, 0, date(2025, 3, 12))]
    assert (tmp_path / "report" / "index.html").is_file()


def test_second_nightly_loads_nothing_and_tables_stay_identical(prefect_api, landing, pii_key, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse)
    first = published(warehouse)
    state = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True)
    assert state.is_completed()
    assert state.result(raise_on_failure=False).outcomes == []
    assert published(warehouse) == first


def test_nightly_in_two_steps_equals_one_backfill(prefect_api, landing, pii_key, tmp_path):
    stepwise, at_once = str(tmp_path / "stepwise.duckdb"), str(tmp_path / "at_once.duckdb")
    nightly(as_of=date(2025, 3, 6), landing=str(landing), warehouse=stepwise)
    nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=stepwise)
    backfill(start=date(2025, 3, 1), end=date(2025, 3, 12), landing=str(landing), warehouse=at_once)
    assert published(stepwise) == published(at_once)
    assert published(at_once)["coverage_city_year"]


def test_a_rejected_file_fails_the_run_after_loading_the_rest(prefect_api, landing, pii_key, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    (landing / "employers_20250305.csv").write_text("npp,name\n12345678,PT Tanpa Kolom\n")
    state = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True)
    assert state.is_failed()
    assert "employers_20250305.csv" in state.message
    assert audit_counts(warehouse) == {"LOADED": 23, "REJECTED": 1}
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select state, files_rejected from audit.runs").fetchone() == ("FAILED", 1)
        assert con.execute("select max(ref_date) from mart.coverage_city_year").fetchone() == (date(2025, 3, 12),)


def test_a_corrected_redelivery_is_picked_up_by_the_next_run(prefect_api, landing, pii_key, tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    good = (landing / "employers_20250305.csv").read_bytes()
    (landing / "employers_20250305.csv").write_text("npp,name\n12345678,PT Tanpa Kolom\n")
    assert nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True).is_failed()
    (landing / "employers_20250305.csv").write_bytes(good)
    state = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True)
    assert state.is_completed()
    assert [o.name for o in state.result(raise_on_failure=False).loaded] == ["employers_20250305.csv"]


def test_artifacts_summarise_the_run_without_identifiers(prefect_api, landing, pii_key, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    (landing / "employers_20250305.csv").write_text("npp,name\n12345678,PT Tanpa Kolom\n")
    state = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=str(tmp_path / "w.duckdb"),
                    return_state=True)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    by_key = {a.key: a for a in artifacts}
    summary = by_key["cakupan-run"].data
    assert "files rejected: **1**" in summary and "employers_20250305.csv" in summary
    assert "files loaded: **23**" in summary
    city = by_key["cakupan-coverage-city-year"].data
    assert "Cakupan (coverage)" in city and "12 Maret 2025" in city

    identifiers = set()
    for path in landing.glob("enrolments_*.csv"):
        for line in path.read_text().splitlines()[1:]:
            identifiers.update(field for field in line.split(",") if field.isdigit() and len(field) in (11, 16))
    assert identifiers
    published = "".join(str(a.data) for a in artifacts)
    assert not [i for i in identifiers if i in published]


def test_a_nightly_that_moves_the_published_figures_posts_the_city_bridge_since_the_previous(
    prefect_api, landing, pii_key, tmp_path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    def artifacts_of(state) -> dict[str, str]:
        with get_client(sync_client=True) as client:
            found = client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
        return {a.key: a.data for a in found}

    warehouse = str(tmp_path / "w.duckdb")
    first = nightly(as_of=date(2025, 3, 6), landing=str(landing), warehouse=warehouse, return_state=True)
    second = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True)
    unchanged = nightly(as_of=date(2025, 3, 12), landing=str(landing), warehouse=warehouse, return_state=True)

    assert "cakupan-explain" not in artifacts_of(first)  # the first publication has nothing to explain
    assert "cakupan-explain" not in artifacts_of(unchanged)
    bridge = artifacts_of(second)["cakupan-explain"]
    with connect(warehouse, read_only=True) as con:
        (before, after) = [con.execute(
            "select covered from history.coverage_city_year where run_id = ? and year = 2025", [str(s.state_details.flow_run_id)]
        ).fetchone()[0] for s in (first, second)]
    rows = [line.split(" | ") for line in bridge.splitlines() if line.startswith("| 2025 | covered |")]
    assert len(rows) == 1
    p0, corrected, late, backdated, new_period, p1 = (int(v.strip(" |").replace(",", "")) for v in rows[0][2:])
    assert (p0, p1) == (before, after) and p0 + corrected + late + backdated + new_period == p1
    assert (corrected, late) == (0, 0) and new_period != 0
    assert "enrolments_20250312.csv" in bridge  # a newer file behind the effects
