"""What the landing must model: persons with several accounts, late employers, late reports,
realistic programs and wages, the city-funded batch."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from cakupan.warehouse.reference import read_reference

from .extract_rules import active_on, current_versions

APBD_DAY = date(2025, 11, 25)


@pytest.fixture(scope="module")
def accounts(clean_landing):
    return current_versions(clean_landing.files, "enrolments")


def _persons(accounts):
    by_nik = defaultdict(list)
    for account in accounts.values():
        by_nik[account["nik"]].append(account)
    return by_nik


def test_persons_hold_several_accounts_over_time_after_a_job_change(accounts):
    job_changes = 0
    for held in _persons(accounts).values():
        ended = [a for a in held if a["status"] == "NONAKTIF"]
        for old in ended:
            end = date.fromisoformat(old["end_date"])
            job_changes += any(0 < (date.fromisoformat(a["start_date"]) - end).days <= 60 for a in held if a is not old)
    assert job_changes >= 20


def test_some_persons_hold_two_accounts_at_once(accounts):
    day = date(2025, 4, 1)
    concurrent = [nik for nik, held in _persons(accounts).items() if sum(active_on(a, day) for a in held) >= 2]
    covered = [nik for nik, held in _persons(accounts).items() if any(active_on(a, day) for a in held)]
    assert 0.005 < len(concurrent) / len(covered) < 0.06


def test_some_employers_arrive_weeks_after_their_workers(clean_landing):
    first_seen = {}
    for checked in sorted(clean_landing.files, key=lambda c: c.extract):
        if checked.kind == "employers":
            for row in checked.rows:
                first_seen.setdefault(row["npp"], checked.extract)
    waited = {}
    for checked in clean_landing.files:
        if checked.kind == "enrolments":
            for row in checked.rows:
                if row["npp"]:
                    arrives = first_seen.get(row["npp"], date.max)
                    waited[row["npp"]] = max(waited.get(row["npp"], 0), (min(arrives, date(2025, 4, 30)) - checked.extract).days)
    late = [npp for npp, days in waited.items() if days >= 14]
    assert len(late) >= 2
    assert len(late) < 0.05 * len(waited)


def test_registrations_and_terminations_reach_the_extract_a_few_days_late(clean_landing):
    seen = set()
    registration_delays, termination_delays = [], []
    for checked in sorted(clean_landing.files, key=lambda c: c.extract):
        if checked.kind != "enrolments":
            continue
        for row in checked.rows:
            if checked.extract > date(2025, 1, 1) and row["kpj"] not in seen and row["status"] == "AKTIF":
                registration_delays.append((checked.extract - date.fromisoformat(row["start_date"])).days)
            if checked.extract > date(2025, 1, 1) and row["status"] == "NONAKTIF":
                termination_delays.append((checked.extract - date.fromisoformat(row["end_date"])).days)
            seen.add(row["kpj"])
    assert sum(d >= 3 for d in registration_delays) > 0.3 * len(registration_delays)
    assert 1 <= sorted(termination_delays)[len(termination_delays) // 2] <= 14
    assert min(termination_delays) >= 1


def test_programs_follow_the_segment(accounts):
    programs = defaultdict(Counter)
    for account in accounts.values():
        programs[(account["segment"], account["contribution_source"])][account["programs"]] += 1
    pu = programs[("PU", "EMPLOYER")]
    assert pu.most_common(1)[0][0] == "JKK|JKM|JHT|JP"
    assert 0.1 < pu["JKK|JKM|JHT|JP|JKP"] / sum(pu.values()) < 0.3
    bpu = programs[("BPU", "SELF")]
    assert set(bpu) == {"JKK|JKM", "JKK|JKM|JHT"} and bpu["JKK|JKM"] > bpu["JKK|JKM|JHT"]
    assert set(programs[("JAKON", "EMPLOYER")]) == {"JKK|JKM"}


def test_some_pu_wages_are_below_the_umk_of_their_year(accounts):
    umk = dict(zip(read_reference("umk")["year"], read_reference("umk")["umk"]))
    pu = [a for a in accounts.values() if a["segment"] == "PU" and a["start_date"] >= "2020"]
    below = [a for a in pu if int(a["wage"]) < umk[int(a["start_date"][:4])]]
    assert 0.03 < len(below) / len(pu) < 0.3


def test_construction_spells_last_months(accounts):
    spells = [
        (date.fromisoformat(a["end_date"]) - date.fromisoformat(a["start_date"])).days
        for a in accounts.values()
        if a["segment"] == "JAKON" and a["end_date"]
    ]
    assert len(spells) > 20 and all(30 <= days <= 366 for days in spells)


def test_employers_change_status_or_sector(clean_landing):
    versions = defaultdict(set)
    for checked in clean_landing.files:
        if checked.kind == "employers":
            for row in checked.rows:
                versions[row["npp"]].add((row["status"], row["kbli"]))
    changed = [npp for npp, seen in versions.items() if len(seen) > 1]
    statuses = {status for seen in versions.values() for status, _ in seen}
    assert len(changed) >= 3
    assert statuses == {"AKTIF", "NONAKTIF", "TUTUP"}


def test_employers_over_weight_the_city_centre(clean_landing):
    initial = min((c for c in clean_landing.files if c.kind == "employers"), key=lambda c: c.extract)
    districts = Counter(row["district"] for row in initial.rows)
    population = read_reference("districts").set_index("district")["population_share"]
    klojen_weight = districts["KLOJEN"] / sum(districts.values()) / population["KLOJEN"]
    assert 1.6 < klojen_weight < 2.5


def test_niks_are_of_kota_malang_and_of_both_sexes(accounts):
    codes = {str(code).replace(".", "") for code in read_reference("districts")["kemendagri_code"]}
    niks = {a["nik"] for a in accounts.values()}
    assert {nik[:6] for nik in niks} == codes
    women = sum(int(nik[6:8]) > 40 for nik in niks)
    assert 0.3 < women / len(niks) < 0.5


def test_the_city_funds_a_batch_of_vulnerable_workers_on_25_november(apbd_landing):
    accounts = current_versions(apbd_landing.files, "enrolments")
    batch = [a for a in accounts.values() if a["contribution_source"] == "APBD"]
    assert len(batch) == round(25_800 * apbd_landing.scale)
    assert {(a["segment"], a["start_date"], a["programs"], a["npp"]) for a in batch} == {("BPU", "2025-11-25", "JKK|JKM", "")}
    assert {date.fromisoformat(a["_extract"]) for a in batch} <= {date(2025, 11, d) for d in (26, 27, 28)}

    workforce = read_reference("workforce").query("year == 2025")["employed"].sum() * apbd_landing.scale
    def rate(day):
        return len({a["nik"] for a in accounts.values() if active_on(a, day)}) / workforce
    assert 0.05 < rate(date(2025, 11, 30)) - rate(date(2025, 11, 24)) < 0.065


def test_no_batch_before_its_day(clean_landing):
    assert not any(row["contribution_source"] == "APBD" for c in clean_landing.files for row in c.rows if c.kind == "enrolments")
