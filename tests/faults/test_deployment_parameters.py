"""Parameters of a deployment run are checked at flow start: one line naming the parameter."""

import pytest

from cakupan.warehouse.connection import connect


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"start": "2025-13-01", "end": "2025-03-12"}, "parameter start: '2025-13-01' is not a date (expected YYYY-MM-DD)"),
        ({"start": "2025-03-12", "end": "2025-03-01"}, "parameter end: 2025-03-01 is before start 2025-03-12"),
    ],
)
def test_a_bad_backfill_parameter_is_refused_in_one_line(served, parameters, named):
    run, messages = served.run("backfill/backfill", **parameters)

    assert run.state.is_failed()
    assert run.state.message == named
    assert not [m for m in messages if "Traceback" in m or "Validation of flow parameters failed" in m]
    assert named in messages
    if served.warehouse.exists():  # nothing ran: no audit row for this run
        with connect(served.warehouse, read_only=True) as con:
            assert con.execute("select count(*) from audit.runs where run_id = ?", [str(run.id)]).fetchone() == (0,)


def test_a_bad_nightly_date_is_refused_in_one_line(served):
    run, messages = served.run("nightly/nightly", as_of="2025-02-30")
    assert run.state.is_failed()
    assert run.state.message == "parameter as_of: '2025-02-30' is not a date (expected YYYY-MM-DD)"
