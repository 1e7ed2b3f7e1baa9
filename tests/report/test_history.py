"""Which publication a report shows, from history.publications alone."""

from datetime import date, datetime

import pytest

from cakupan.report.history import NothingPublished, latest_publication, publication_as_of


@pytest.fixture
def publications(empty_warehouse):
    """history.publications rows written by the test: (run_id, as_of, published_at)."""

    def publish(run_id: str, as_of: date | None, published_at: datetime) -> None:
        empty_warehouse.execute(
            "insert into history.publications values (?, 'nightly', ?, ?, 1, 0, true)", [run_id, published_at, as_of]
        )

    return empty_warehouse, publish


def test_the_latest_publication_as_of_the_day_or_before_is_shown(publications):
    con, publish = publications
    publish("n1", date(2026, 2, 2), datetime(2026, 2, 3, 2))
    publish("n2", date(2026, 2, 3), datetime(2026, 2, 4, 2))
    publish("redo", date(2026, 2, 3), datetime(2026, 2, 4, 9))  # a re-delivery republished that day
    publish("n3", date(2026, 2, 9), datetime(2026, 2, 10, 2))
    assert publication_as_of(con, date(2026, 2, 2)).run_id == "n1"
    assert publication_as_of(con, date(2026, 2, 5)).run_id == "redo"
    assert publication_as_of(con, date(2026, 12, 31)).run_id == "n3"
    assert latest_publication(con).run_id == "n3"


def test_nothing_published_by_then_names_the_first_publication(publications):
    con, publish = publications
    with pytest.raises(NothingPublished, match=r"as of 2026-02-01 or before \(nothing has been published yet\)"):
        publication_as_of(con, date(2026, 2, 1))
    assert latest_publication(con) is None
    publish("empty", None, datetime(2026, 2, 2, 2))  # a run before anything was loaded
    publish("n1", date(2026, 2, 2), datetime(2026, 2, 3, 2))
    with pytest.raises(NothingPublished, match=r"\(the first publication is as of 2026-02-02\)"):
        publication_as_of(con, date(2026, 2, 1))
