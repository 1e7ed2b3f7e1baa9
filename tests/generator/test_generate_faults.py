"""Injected faults: bad rows at about the requested rate, now and then a bad file."""

from __future__ import annotations

from collections import Counter

RATE = 0.04


def test_bad_rows_come_at_about_the_requested_rate(faulty_landing):
    spoilt = set(faulty_landing.summary.bad_files)
    readable = [c for c in faulty_landing.files if c.path.name not in spoilt]
    bad = sum(len(c.bad_rows) for c in readable)
    rows = sum(c.data_rows for c in readable)
    # A conflicting duplicate spoils two rows, hence a little above the rate.
    assert RATE * 0.8 < bad / rows < RATE * 1.4
    assert bad == faulty_landing.summary.bad_rows


def test_bad_rows_break_many_different_rules(faulty_landing):
    rules = Counter(rule for c in faulty_landing.files for broken in c.bad_rows.values() for rule in broken)
    for rule in ("nik", "kpj", "start_date", "npp", "district", "programs", "field_count", "conflicting_duplicate", "kbli", "status"):
        assert rules[rule] > 0, rule


def test_some_files_are_spoilt_as_a_whole(faulty_landing):
    problems = {c.path.name: c.problem for c in faulty_landing.files if c.problem}
    compressed = {name for name, problem in problems.items() if problem == "compressed"}
    spoilt = set(faulty_landing.summary.bad_files)
    assert set(problems) <= spoilt
    # The plain half of a .csv + .csv.gz pair reads fine: the pair as a whole is ambiguous.
    assert {name.removesuffix(".gz") for name in compressed} <= spoilt
    assert spoilt - set(problems) == {name.removesuffix(".gz") for name in compressed}
    assert 1 <= len(spoilt) <= 0.15 * len(faulty_landing.files)
    assert set(problems.values()) - {"compressed"} <= {"header", "encoding"}


def test_the_initial_load_is_never_spoilt_as_a_whole(faulty_landing):
    first = min(c.extract for c in faulty_landing.files)
    assert all(not c.problem for c in faulty_landing.files if c.extract == first)
