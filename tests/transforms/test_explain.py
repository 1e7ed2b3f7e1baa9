"""The bridge between two publications, on hand-built landings where each effect is known:
P0 + corrected + late + backdated + new_period = P1 on every row, each effect from the files
that cause it."""

from itertools import combinations

import pytest

from cakupan.report.writer import write_report
from cakupan.transforms.explain import EFFECTS, LEVELS, MEASURES, explain_years

from .conftest import account, employer, kpj, nik


def moved(explanation) -> dict[tuple[str, str, str], dict[str, int]]:
    """The rows with any effect, and their non-zero effects."""
    return {
        (row.level, row.key, row.measure): {e: v for e, v in row.effects().items() if v}
        for row in explanation.rows if any(row.effects().values())
    }


def files_behind(explanation) -> list[tuple]:
    return [(f.effect, f.file_name, f.versions, f.replaced, f.withdrawn) for f in explanation.files]


def assert_bridge_adds_up(explanation) -> None:
    assert explanation.problems == ()
    for row in explanation.rows:
        assert row.p0 + sum(row.effects().values()) == row.p1, row


@pytest.mark.slow
def test_a_redelivery_changing_one_account_in_a_past_year_moves_only_corrected_by_that_person(pipeline):
    pipeline.deliver("employers", "2025-03-01", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2))])
    p0 = pipeline.publish("p0")
    # BPJS corrects the file: the second account was void from the start; a new day also lands
    corrected = pipeline.deliver("enrolments", "2025-03-01", [
        account(kpj(1), nik(1)), account(kpj(2), nik(2), status="BATAL"),
    ])
    pipeline.deliver("enrolments", "2025-03-02", [account(kpj(3), nik(3), start_date="2025-03-02")])
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2024, p0, p1)

    assert_bridge_adds_up(explanation)
    assert moved(explanation) == {
        ("city", "", "covered"): {"corrected": -1},
        ("city", "", "covered_formal"): {"corrected": -1},
        ("sector", "C", "covered"): {"corrected": -1},
        ("sector", "C", "covered_formal"): {"corrected": -1},
        ("district", "KLOJEN", "covered"): {"corrected": -1},
        ("district", "KLOJEN", "covered_formal"): {"corrected": -1},
    }
    city = explanation.row("city")
    assert (city.p0, city.p1) == (2, 1)
    assert files_behind(explanation)[0] == ("corrected", corrected, 2, 2, False)
    assert [f.effect for f in explanation.files] == ["corrected", "backdated"]  # the new day: newer, moved nothing in 2024


@pytest.mark.slow
def test_a_file_dated_before_p0s_as_of_delivered_after_p0_is_only_late(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    pipeline.deliver("enrolments", "2025-03-03", [account(kpj(2), nik(2))])
    p0 = pipeline.publish("p0")
    late = pipeline.deliver("enrolments", "2025-03-02", [account(kpj(3), nik(3), "BPU", start_date="2025-02-01")])
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2025, p0, p1)

    assert_bridge_adds_up(explanation)
    assert moved(explanation)[("city", "", "covered")] == {"late": 1}
    assert moved(explanation)[("city", "", "covered_informal")] == {"late": 1}
    assert all(set(effects) == {"late"} for effects in moved(explanation).values())
    assert files_behind(explanation) == [("late", late, 1, None, False)]
    assert explanation.ref_date0 == explanation.ref_date1


@pytest.mark.slow
def test_a_new_file_registering_accounts_before_and_after_p0s_reference_date_is_backdated_and_new_period(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    p0 = pipeline.publish("p0")
    newer = pipeline.deliver("enrolments", "2025-03-05", [
        account(kpj(2), nik(2), start_date="2025-02-15"),  # before P0's reference date 2025-03-01
        account(kpj(3), nik(3), "BPU", start_date="2025-03-04", district="SUKUN"),  # after it
    ])
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2025, p0, p1)

    assert_bridge_adds_up(explanation)
    assert moved(explanation)[("city", "", "covered")] == {"backdated": 1, "new_period": 1}
    assert moved(explanation)[("city", "", "covered_formal")] == {"backdated": 1}
    assert moved(explanation)[("city", "", "covered_informal")] == {"new_period": 1}
    assert moved(explanation)[("district", "SUKUN", "covered")] == {"new_period": 1}
    assert files_behind(explanation) == [("backdated", newer, 2, None, False)]
    assert (str(explanation.ref_date0), str(explanation.ref_date1)) == ("2025-03-01", "2025-03-05")
    # a past year's reference date is 31 December in both: nothing moves there
    assert moved(pipeline.explain(2024, p0, p1)) == {}


@pytest.mark.slow
def test_a_rejected_redelivery_of_a_counted_file_removes_its_rows_as_corrected(pipeline):
    pipeline.deliver("employers", "2025-03-02", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2), "BPU")])
    p0 = pipeline.publish("p0")
    withdrawn = pipeline.deliver_rejected("enrolments", "2025-03-01")
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2025, p0, p1)

    assert_bridge_adds_up(explanation)
    assert moved(explanation)[("city", "", "covered")] == {"corrected": -2}
    assert explanation.row("city").p1 == 0
    assert files_behind(explanation) == [("corrected", withdrawn, 0, 2, True)]


@pytest.mark.slow
def test_two_publications_of_the_same_files_have_every_effect_zero(pipeline):
    pipeline.deliver("employers", "2025-03-01", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2), "BPU")])
    p0 = pipeline.publish("p0")
    p1 = pipeline.publish("p1")

    for year in (2024, 2025):
        explanation = pipeline.explain(year, p0, p1)
        assert_bridge_adds_up(explanation)
        assert moved(explanation) == {} and explanation.files == ()
        assert explanation.row("city").p0 == explanation.row("city").p1 == 2


@pytest.mark.slow
def test_on_nightlies_with_redeliveries_s0_and_s4_are_the_published_rows_and_every_bridge_adds_up(pipeline):
    people = [account(kpj(n), nik(n), start_date=f"202{n % 3 + 2}-0{n % 9 + 1}-10",
                      segment="BPU" if n % 4 == 0 else "PU", district=("KLOJEN", "SUKUN", "LOWOKWARU")[n % 3])
              for n in range(1, 13)]
    pipeline.deliver("employers", "2025-01-01", [employer("10000001")])
    pipeline.deliver("enrolments", "2025-01-01", people[:6])
    published = [pipeline.publish("n1")]
    pipeline.deliver("enrolments", "2025-01-02", people[6:9])
    published.append(pipeline.publish("n2"))
    # a re-delivery of the first day ends one account and voids another; a late file lands
    pipeline.deliver("enrolments", "2025-01-01", [
        people[0] | {"end_date": "2023-06-30", "status": "NONAKTIF"}, people[1] | {"status": "BATAL"}, *people[2:6],
    ])
    pipeline.deliver("employers", "2024-12-31", [employer("10000002", kbli="47111")])
    published.append(pipeline.publish("n3"))
    pipeline.deliver("enrolments", "2025-01-04", people[9:] + [people[6] | {"end_date": "2025-01-03", "status": "NONAKTIF"}])
    published.append(pipeline.publish("n4"))

    for p0, p1 in combinations(published, 2):
        for year in (2022, 2023, 2024, 2025):
            explanation = pipeline.explain(year, p0, p1)
            assert_bridge_adds_up(explanation)
            assert {row.level for row in explanation.rows} == set(LEVELS)
            assert {row.measure for row in explanation.rows} == set(MEASURES)
    assert moved(pipeline.explain(2024, published[0], published[-1]))  # something did move
    years = [2022, 2023, 2024, 2025]  # several years at once: the same bridges as one by one
    assert explain_years(pipeline.con, years, published[0], published[-1]) == [
        pipeline.explain(year, published[0], published[-1]) for year in years
    ]


@pytest.mark.slow
def test_an_employer_changing_sector_moves_its_workers_between_two_sectors_and_not_the_city(pipeline):
    pipeline.deliver("employers", "2025-03-01", [employer("10000001", kbli="10110")])  # C: manufacturing
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(n), nik(n)) for n in range(1, 4)])
    p0 = pipeline.publish("p0")
    pipeline.deliver("employers", "2025-03-01", [employer("10000001", kbli="47111")])  # G: trade
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2024, p0, p1)

    assert_bridge_adds_up(explanation)
    for measure in MEASURES:
        assert not any(explanation.row("city", "", measure).effects().values())
    manufacturing, trade = explanation.row("sector", "C"), explanation.row("sector", "G")
    assert manufacturing.corrected == -3 and trade.corrected == 3
    assert {e: -v for e, v in manufacturing.effects().items()} == trade.effects()


@pytest.mark.slow
def test_a_publication_from_before_the_record_of_files_is_explained_as_not_known(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    p0 = pipeline.publish("p0")
    # as in a warehouse upgraded after P0: no record of what P0 counted
    pipeline.con.execute("delete from history.file_version_changes")
    pipeline.con.execute("delete from history.publication_files")
    pipeline.deliver("enrolments", "2025-03-02", [account(kpj(2), nik(2))])
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2025, p0, p1)

    assert "p0 (as of 2025-03-01) predates the record of the files in force" in explanation.unknown
    assert "kept since publication p1 (as of 2025-03-02)" in explanation.unknown
    city = explanation.row("city")
    assert (city.p0, city.p1) == (1, 2)
    assert all(value is None for value in city.effects().values())
    assert set(EFFECTS) == set(city.effects())


# --- the report: the city's bridge beside the headline change ---


@pytest.mark.slow
def test_the_report_shows_the_city_bridge_and_its_largest_effect_when_the_figure_moved(pipeline, tmp_path):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2))])
    pipeline.publish("p0")
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1)), account(kpj(2), nik(2), status="BATAL")])
    pipeline.deliver("enrolments", "2025-03-02", [account(kpj(n), nik(n), "BPU", start_date="2025-03-02")
                                                  for n in (3, 4)])
    pipeline.publish("p1")

    files = write_report(pipeline.con, tmp_path / "report")
    page = files.index.read_text()

    assert tmp_path / "report" / "city_bridge.png" in files.charts
    assert 'id="chart-city_bridge"' in page
    assert "Mengapa cakupan 2025 berubah sejak data per 1 Maret 2025" in page
    assert "2 → 3 pekerja tercakup." in page
    assert ("Perubahan terbesar berasal dari bergesernya tanggal acuan ke data terbaru: menambah 2 orang "
            "tercakup.") in page
    for step in ("p0", "corrected", "late", "backdated", "new_period", "p1"):
        assert f'id="city_bridge-wide-bar-{step}"' in page and f'id="city_bridge-narrow-bar-{step}"' in page


@pytest.mark.slow
def test_the_report_has_no_bridge_when_the_figure_did_not_move(pipeline, tmp_path):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    pipeline.publish("p0")
    pipeline.deliver("enrolments", "2025-03-02", [])  # as_of moves, the figure does not
    pipeline.publish("p1")

    files = write_report(pipeline.con, tmp_path / "report")
    page = files.index.read_text()

    assert "city_bridge.png" not in [path.name for path in files.charts]
    assert "chart-city_bridge" not in page and "Mengapa cakupan" not in page


@pytest.mark.slow
def test_a_workforce_estimate_changed_between_publications_is_stated_beside_unmoved_counts(pipeline):
    pipeline.deliver("enrolments", "2025-03-01", [account(kpj(1), nik(1))])
    p0 = pipeline.publish("p0")
    pipeline.set_workforce(2025, {"C": (1000, 600)})  # BPS revised its estimate
    p1 = pipeline.publish("p1")

    explanation = pipeline.explain(2025, p0, p1, levels=("city",))

    assert moved(explanation) == {}
    workforce = [(r.level, r.name, r.p1) for r in explanation.rate_inputs if r.name == "workforce"]
    assert workforce == [("city", "workforce", 1000)]
    assert explanation.rate_inputs[0].p0 != 1000
