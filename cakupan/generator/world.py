"""What the synthetic landing is calibrated against: the project's reference data plus the
few modelling assumptions of the generator, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from cakupan.config import ReferenceFiles
from cakupan.generator.days import day_number, year_of
from cakupan.warehouse.reference import read_reference

# Coverage (covered persons / workforce) before the city-funded batch: linear through
# these points, extrapolated beyond them. 0.32 in March 2025 is the city's stated baseline.
COVERAGE_PATH = ((date(2019, 1, 1), 0.27), (date(2025, 3, 31), 0.32))
MIN_COVERAGE = 0.05
FORMAL_SHARE = 0.80  # of covered persons, PU or JAKON; the rest are BPU paying themselves
JAKON_SHARE_OF_CONSTRUCTION = 0.45  # of formal covered persons in section F
EMPLOYER_DISTRICT = "KLOJEN"  # the city centre: employers over-weight it against population
EMPLOYER_DISTRICT_WEIGHT = 2.0

APBD_BATCH_DAY = date(2025, 11, 25)
APBD_BATCH_ACCOUNTS = 25_800  # at scale 1


@dataclass(frozen=True)
class World:
    """Reference figures as arrays indexed by sector id, district id and year."""

    sectors: np.ndarray  # section letters; a sector id is an index into this
    divisions: tuple[np.ndarray, ...]  # valid KBLI divisions (int) of each sector
    district_names: np.ndarray
    region_codes: np.ndarray  # NIK digits 1-6 of each district (kemendagri code)
    population_share: np.ndarray
    employer_district_share: np.ndarray
    workforce_years: np.ndarray
    employed: np.ndarray  # [year index, sector]
    employed_formal: np.ndarray
    umk_years: np.ndarray
    umk_values: np.ndarray

    @classmethod
    def from_reference(cls, reference: ReferenceFiles = ReferenceFiles()) -> "World":
        workforce = read_reference("workforce", reference)
        sectors = np.array(sorted(workforce["sector"].astype(str).unique()), dtype=object)
        years = np.array(sorted(workforce["year"].astype(int).unique()))
        employed = np.zeros((len(years), len(sectors)))
        employed_formal = np.zeros((len(years), len(sectors)))
        year_index = {year: i for i, year in enumerate(years)}
        sector_index = {sector: i for i, sector in enumerate(sectors)}
        for row in workforce.itertuples(index=False):
            position = year_index[int(row.year)], sector_index[str(row.sector)]
            employed[position] = float(row.employed)
            employed_formal[position] = float(row.employed_formal)

        kbli = read_reference("kbli_divisions", reference)
        divisions = tuple(
            np.array(sorted(int(d) for d in kbli.loc[kbli["sector"].astype(str) == sector, "division"]))
            for sector in sectors
        )

        districts = read_reference("districts", reference).sort_values("district")
        names = districts["district"].astype(str).to_numpy(dtype=object)
        population = districts["population_share"].astype(float).to_numpy()
        population = population / population.sum()
        employer_weight = population * np.where(names == EMPLOYER_DISTRICT, EMPLOYER_DISTRICT_WEIGHT, 1.0)
        region_codes = np.array([int(str(code).replace(".", "")) for code in districts["kemendagri_code"]])

        umk = read_reference("umk", reference).sort_values("year")
        return cls(
            sectors=sectors,
            divisions=divisions,
            district_names=names,
            region_codes=region_codes,
            population_share=population,
            employer_district_share=employer_weight / employer_weight.sum(),
            workforce_years=years,
            employed=employed,
            employed_formal=employed_formal,
            umk_years=umk["year"].astype(int).to_numpy(),
            umk_values=umk["umk"].astype(np.int64).to_numpy(),
        )

    def _year_row(self, year: int) -> int:
        """Years outside the table take the nearest year's figures (carried forward or back)."""
        row = np.searchsorted(self.workforce_years, year, side="right") - 1
        return int(np.clip(row, 0, len(self.workforce_years) - 1))

    def workforce(self, day: int) -> float:
        """Employed persons: year Y's figure from 1 March to 31 December, moving from the
        previous year's over January and February, so that every year-end and any date
        after February of the last year is measured against its own year's figure."""
        totals = self.employed.sum(axis=1)
        anchors, values = [], []
        for index, year in enumerate(self.workforce_years):
            if index > 0:
                anchors.append(day_number(date(int(year), 1, 1)))
                values.append(totals[index - 1])
            anchors.append(day_number(date(int(year), 3, 1)))
            values.append(totals[index])
        return float(np.interp(day, anchors, values))

    def coverage_rate(self, day: int) -> float:
        (first_day, first_rate), (last_day, last_rate) = COVERAGE_PATH
        slope = (last_rate - first_rate) / (day_number(last_day) - day_number(first_day))
        return max(MIN_COVERAGE, first_rate + slope * (day - day_number(first_day)))

    def covered_target(self, day: int) -> float:
        """Covered persons (outside the city-funded batch) the landing aims at, at scale 1."""
        return self.coverage_rate(day) * self.workforce(day)

    def formal_mix(self, year: int) -> np.ndarray:
        formal = self.employed_formal[self._year_row(year)]
        return formal / formal.sum()

    def informal_mix(self, year: int) -> np.ndarray:
        row = self._year_row(year)
        informal = self.employed[row] - self.employed_formal[row]
        return informal / informal.sum()

    def umk(self, days: np.ndarray) -> np.ndarray:
        years = np.clip(year_of(days), self.umk_years[0], self.umk_years[-1])
        return self.umk_values[np.searchsorted(self.umk_years, years)]

    def sector_id(self, letter: str) -> int:
        return int(np.flatnonzero(self.sectors == letter)[0])
