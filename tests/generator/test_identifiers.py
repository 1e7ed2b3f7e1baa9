"""Identifiers stay unique and well-formed however crowded a birth date or a year is."""

from __future__ import annotations

from datetime import date

import numpy as np

from cakupan.generator.days import day_number
from cakupan.generator.identifiers import KpjIssuer, NikIssuer, NppIssuer

from .extract_rules import nik_ok


def test_persons_born_the_same_day_in_the_same_district_get_distinct_niks():
    issuer = NikIssuer(np.array([357301, 357302]))
    size = 3_000
    birth = np.full(size, day_number(date(1990, 2, 14)))
    first = issuer.issue(np.zeros(size, dtype=np.int64), birth, np.arange(size) % 2 == 0)
    second = issuer.issue(np.zeros(size, dtype=np.int64), birth, np.arange(size) % 2 == 0)
    niks = np.concatenate([first, second]).astype(str)
    assert len(set(niks)) == 2 * size
    assert all(nik_ok(nik) and nik.startswith("357301") and nik[8:12] == "0290" for nik in niks)
    assert {nik[6:8] for nik in niks} == {"14", "54"}  # women: day + 40


def test_kpj_are_eleven_digits_and_unique_within_and_across_years():
    issuer = KpjIssuer(seed=9)
    years = np.repeat([2000, 2019, 2025], 50_000)
    kpj = np.concatenate([issuer.issue(years), issuer.issue(years)]).astype(str)
    assert len(set(kpj)) == len(kpj)
    assert {len(k) for k in kpj} == {11}
    assert {k[1:3] for k in kpj} == {"00", "19", "25"}


def test_npp_are_eight_digits_and_unique():
    issuer = NppIssuer(seed=9)
    npp = np.concatenate([issuer.issue(100_000), issuer.issue(5)]).astype(str)
    assert len(set(npp)) == len(npp) and {len(n) for n in npp} == {8}
