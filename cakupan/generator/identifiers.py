"""Unique, well-formed synthetic identifiers: NIK (persons), KPJ (accounts), NPP (employers)."""

from __future__ import annotations

import numpy as np

WOMAN_DAY_OFFSET = 40  # NIK digits 7-8 carry the day of birth + 40 for women
_MAX_NIK_SERIAL = 9_999
_KPJ_SERIALS = 10**8
_NPP_SERIALS = 9 * 10**7
# Multipliers coprime with the serial space: counter -> serial is a bijection, so serials
# never repeat yet do not look sequential.
_KPJ_STRIDE = 7_919
_NPP_STRIDE = 7_013


def _ranks_within_groups(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... for the occurrences of each key, in input order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    group_start = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    positions = np.arange(len(keys))
    first_of_group = np.maximum.accumulate(np.where(group_start, positions, 0))
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[order] = positions - first_of_group
    return ranks


class NikIssuer:
    """NIK = region code (6) + day of birth (+40 for women) (2) + month (2) + year (2) + serial (4)."""

    def __init__(self, region_codes: np.ndarray) -> None:
        self.region_codes = region_codes.astype(np.int64)
        # One counter per (region, day field, month, two-digit year), as Dukcapil numbers them.
        self.issued = np.zeros((len(region_codes), 72, 13, 100), dtype=np.int32)

    def issue(self, region: np.ndarray, birth_days: np.ndarray, woman: np.ndarray) -> np.ndarray:
        birth = birth_days.astype("datetime64[D]")
        year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
        month = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
        day_field = day + np.where(woman, WOMAN_DAY_OFFSET, 0)
        year_field = year % 100
        flat = np.ravel_multi_index((region, day_field, month, year_field), self.issued.shape)
        counts = self.issued.reshape(-1)
        serial = counts[flat] + _ranks_within_groups(flat) + 1
        if len(serial) and serial.max() > _MAX_NIK_SERIAL:
            raise OverflowError("NIK serials exhausted for one region and birth date")
        np.add.at(counts, flat, 1)
        return (
            self.region_codes[region] * 10**10
            + day_field * 10**8
            + month * 10**6
            + year_field * 10**4
            + serial
        )


class KpjIssuer:
    """KPJ = 1 + two-digit registration year + 8-digit serial: 11 digits, never a leading zero."""

    def __init__(self, seed: int) -> None:
        self.issued = np.zeros(100, dtype=np.int64)
        self.offset = (seed * 104_729) % _KPJ_SERIALS

    def issue(self, registration_years: np.ndarray) -> np.ndarray:
        year_field = registration_years.astype(np.int64) % 100
        counter = self.issued[year_field] + _ranks_within_groups(year_field)
        if len(counter) and counter.max() >= _KPJ_SERIALS:
            raise OverflowError("KPJ serials exhausted for one registration year")
        np.add.at(self.issued, year_field, 1)
        serial = (counter * _KPJ_STRIDE + self.offset) % _KPJ_SERIALS
        return 10**10 + year_field * 10**8 + serial


class NppIssuer:
    """NPP: 8 digits from 10000000, never a leading zero."""

    def __init__(self, seed: int) -> None:
        self.issued = 0
        self.offset = (seed * 15_485_863) % _NPP_SERIALS

    def issue(self, count: int) -> np.ndarray:
        counter = self.issued + np.arange(count, dtype=np.int64)
        self.issued += count
        if self.issued > _NPP_SERIALS:
            raise OverflowError("NPP serials exhausted")
        return 10**7 + (counter * _NPP_STRIDE + self.offset) % _NPP_SERIALS
