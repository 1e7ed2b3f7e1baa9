"""A failed run carries its message and nothing else: no engine traceback in Prefect's logs."""

from cakupan.warehouse.connection import connect

ENGINE_CRASH = ("Engine execution exited with unexpected exception", "Traceback", "TypeError")


def test_a_served_nightly_with_a_rejected_file_fails_with_its_message_only(served):
    (served.landing / "employers_20250305.csv").write_text("npp,name\n12345678,PT Tanpa Kolom\n")
    run, messages = served.run("nightly/nightly", as_of="2025-03-12")

    assert run.state.is_failed()
    assert run.state.message == "1 file(s) rejected: employers_20250305.csv"
    assert [m for m in messages if any(crash in m for crash in ENGINE_CRASH)] == []
    assert any("employers_20250305.csv: rejected" in m for m in messages)
    with connect(served.warehouse, read_only=True) as con:
        assert con.execute("select state, files_rejected from audit.runs where run_id = ?",
                           [str(run.id)]).fetchone() == ("FAILED", 1)
