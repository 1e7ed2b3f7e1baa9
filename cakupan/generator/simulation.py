"""The simulated population, advanced one calendar month at a time.

Only the live state is held: employers (few) and the membership accounts that still have a
version to report. Each account's whole life is drawn when it opens (start, optional wage
change, end or voiding, and the working days on which each change reaches an extract), so a
month's deltas are the versions whose report day falls in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cakupan.generator.days import NEVER, roll_to_workday, year_of
from cakupan.generator.identifiers import KpjIssuer, NikIssuer, NppIssuer
from cakupan.generator.world import (
    APBD_BATCH_ACCOUNTS,
    FORMAL_SHARE,
    JAKON_SHARE_OF_CONSTRUCTION,
    World,
)

PU, BPU, JAKON = 0, 1, 2
SEGMENTS = np.array(["PU", "BPU", "JAKON"], dtype=object)
EMPLOYER_PAID, SELF_PAID, APBD_PAID = 0, 1, 2
SOURCES = np.array(["EMPLOYER", "SELF", "APBD"], dtype=object)
PROGRAMS = np.array(["JKK|JKM", "JKK|JKM|JHT", "JKK|JKM|JHT|JP", "JKK|JKM|JHT|JP|JKP"], dtype=object)
PU_PROGRAM_SHARES = (0.03, 0.07, 0.70, 0.20)
BPU_PROGRAM_SHARES = (0.75, 0.25, 0.0, 0.0)

# Account lives
MEAN_DAYS = {PU: 1460.0, BPU: 540.0}
JAKON_SPELL_DAYS = (60, 300)  # a construction project
CONCURRENT_MEAN_DAYS = 365.0
SUCCESSOR_CHANCE = {PU: 0.55, BPU: 0.20, JAKON: 0.60}  # a next account after a job change
SUCCESSOR_GAP_DAYS = (1, 60)
CONCURRENT_SHARE = 0.03  # second jobs and double registrations, per covered person
VOID_SHARE = 0.01  # accounts cancelled (BATAL) soon after registration
WAGE_CHANGE_CHANCE = 0.35
MONTH_START_HIRES = 0.30  # many PU jobs start on the 1st
DECLARED_INCOMES = (1_000_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 5_000_000)  # BPU, per month
DECLARED_INCOME_SHARES = (0.4, 0.2, 0.2, 0.1, 0.07, 0.03)
STOCK_PART_ACCOUNTS = 250_000

# Reporting delays, in days, before the working-day roll
REGISTRATION_LAG_MAX = 30
TERMINATION_LAG_MAX = 30
CHANGE_LAG_MAX = 5
BATCH_LAG_DAYS = (1, 3)
VOID_AFTER_DAYS = (3, 30)

# Employers
AVERAGE_ENROLLED = 15.0
EMPLOYER_BIRTHS_PER_YEAR = 0.05
EMPLOYER_EVENTS_PER_YEAR = {  # per employer, by kind of change
    "close": 0.015,
    "pause": 0.02,
    "resume_when_paused": 0.25,
    "close_when_paused": 0.05,
    "kbli": 0.01,
    "headcount": 0.25,
}
KBLI_CHANGE_ACROSS_SECTORS = 0.25
LATE_EMPLOYER_SHARE = 0.25
LATE_EMPLOYER_LAG_DAYS = (21, 56)  # first extract weeks after the workers' accounts
NEW_EMPLOYER_BOOST = 10.0  # a new employer registers its first staff within weeks
NEW_EMPLOYER_DAYS = 60
AKTIF, NONAKTIF, TUTUP = 0, 1, 2
EMPLOYER_STATUSES = np.array(["AKTIF", "NONAKTIF", "TUTUP"], dtype=object)
SIZE_CLASSES = np.array(["MIKRO", "KECIL", "MENENGAH", "BESAR"], dtype=object)
SIZE_CLASS_FLOORS = np.array([5, 20, 100])  # workers: KECIL from 5, MENENGAH from 20, BESAR from 100
NAME_WORDS = np.array(
    "ABADI AGUNG ANUGERAH ARTHA BAROKAH BERKAH BINTANG CAHAYA CITRA DUTA GEMILANG HARAPAN "
    "INDAH JAYA KARYA KENCANA LESTARI MAJU MAKMUR MANDIRI MULIA MUSTIKA NUSANTARA PERKASA "
    "PRIMA RAHAYU SAKTI SEJAHTERA SENTOSA SINAR SUMBER TIRTA UTAMA WIJAYA".split(),
    dtype=object,
)
NAME_PLACES = np.array(["", " MALANG", " ARJOSARI", " DINOYO", " SAWOJAJAR", " TLOGOMAS"], dtype=object)

ACCOUNT_FIELDS = {
    "kpj": np.int64,
    "nik": np.int64,
    "segment": np.int8,
    "sector": np.int8,
    "npp": np.int64,  # 0: none
    "kbli": np.int32,  # 0: none
    "district": np.int8,
    "programs": np.int8,
    "wage": np.int64,
    "changed_wage": np.int64,
    "source": np.int8,
    "start": np.int32,
    "end": np.int32,  # NEVER: open
    "void": np.bool_,
    "second": np.bool_,  # a person's concurrent account
    "successor": np.bool_,
    "reported": np.int32,  # working day the opening reaches an extract
    "changed": np.int32,  # ... the wage change (NEVER: none)
    "closed": np.int32,  # ... the end or the voiding (NEVER: not yet drawn)
}
EMPLOYER_VERSION_FIELDS = {
    "reported": np.int32,
    "employer": np.int64,
    "kbli": np.int32,
    "status": np.int8,
    "reported_workers": np.int64,
}


def _empty(fields: dict) -> dict[str, np.ndarray]:
    return {name: np.zeros(0, dtype=dtype) for name, dtype in fields.items()}


def _concat(parts: list[dict[str, np.ndarray]], fields: dict) -> dict[str, np.ndarray]:
    return {
        name: np.concatenate([part[name] for part in parts]).astype(dtype, copy=False)
        for name, dtype in fields.items()
    }


def _take(table: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[index] for name, column in table.items()}


def _uniform_days(rng: np.random.Generator, bounds: tuple[int, int], size: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, size=size)


def _random_kbli(rng: np.random.Generator, world: World, sectors: np.ndarray) -> np.ndarray:
    """A 5-digit code whose division belongs to the sector (subclass digits are free)."""
    divisions = np.zeros(len(sectors), dtype=np.int64)
    for sector in np.unique(sectors):
        mask = sectors == sector
        divisions[mask] = rng.choice(world.divisions[sector], size=int(mask.sum()))
    return (divisions * 1000 + rng.integers(100, 1000, size=len(sectors))).astype(np.int32)


@dataclass
class MonthTargets:
    """Covered persons the month aims at, per sector, at the run's scale."""

    pu: np.ndarray
    jakon: np.ndarray
    bpu: np.ndarray

    @property
    def formal(self) -> np.ndarray:
        return self.pu + self.jakon


class Simulation:
    def __init__(self, world: World, scale: float, seed: int) -> None:
        self.world = world
        self.scale = scale
        self.construction = world.sector_id("F")
        self.nik = NikIssuer(world.region_codes)
        self.kpj = KpjIssuer(seed)
        self.npp = NppIssuer(seed)
        self.accounts = _empty(ACCOUNT_FIELDS)
        self.employers: dict[str, np.ndarray] = {}
        self.pending_employer_versions = _empty(EMPLOYER_VERSION_FIELDS)

    # ------------------------------------------------------------------ targets
    def targets(self, day: int) -> MonthTargets:
        world = self.world
        year = int(year_of(np.array([day]))[0])
        covered = world.covered_target(day) * self.scale
        formal = covered * FORMAL_SHARE * world.formal_mix(year)
        jakon = np.zeros_like(formal)
        jakon[self.construction] = formal[self.construction] * JAKON_SHARE_OF_CONSTRUCTION
        informal = covered * (1 - FORMAL_SHARE) * world.informal_mix(year)
        return MonthTargets(pu=formal - jakon, jakon=jakon, bpu=informal)

    # ------------------------------------------------------------------ persons
    def _new_persons(
        self, rng: np.random.Generator, size: int, day: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """NIK and home district of persons first met on `day`, aged 18 to 60."""
        district = rng.choice(len(self.world.region_codes), size=size, p=self.world.population_share)
        age_days = (18 + rng.beta(2.0, 3.0, size=size) * 42) * 365.25
        woman = rng.random(size) < 0.4
        nik = self.nik.issue(district, (day - age_days).astype(np.int64), woman)
        return nik, district

    # ------------------------------------------------------------------ employers
    def _found_employers(
        self, rng: np.random.Generator, sectors: np.ndarray, registered: np.ndarray, late: np.ndarray
    ) -> None:
        count = len(sectors)
        weight = rng.lognormal(1.5, 1.1, size=count)
        small_firm = rng.choice(np.array(["CV ", "UD ", "PT "], dtype=object), size=count)
        prefix = np.where(weight > 20, "PT ", small_firm)
        listed = (weight > 60) & (rng.random(count) < 0.3)
        name = (
            prefix.astype(object)
            + rng.choice(NAME_WORDS, size=count)
            + " "
            + rng.choice(NAME_WORDS, size=count)
            + rng.choice(NAME_PLACES, size=count)
        )
        name = np.where(listed, '"' + name + ', Tbk"', name)  # quoted: the comma is CSV syntax
        lag = np.where(late, _uniform_days(rng, LATE_EMPLOYER_LAG_DAYS, count), rng.integers(0, 4, size=count))
        first_report = roll_to_workday(registered + lag)
        founded = {
            "npp": self.npp.issue(count),
            "name": name.astype(object),
            "sector": sectors.astype(np.int8),
            "kbli": _random_kbli(rng, self.world, sectors),
            "district": rng.choice(
                len(self.world.district_names), size=count, p=self.world.employer_district_share
            ).astype(np.int8),
            "weight": weight,
            "inflation": rng.uniform(0.95, 1.6, size=count),  # declared headcount above enrolment
            "registered": registered.astype(np.int32),
            "status": np.full(count, AKTIF, dtype=np.int8),
            "last_report": first_report.astype(np.int32),
        }
        first_index = len(self.employers.get("npp", []))
        if self.employers:
            founded = {name: np.concatenate([self.employers[name], column]) for name, column in founded.items()}
        self.employers = founded
        self._queue_employer_versions(np.arange(first_index, first_index + count), first_report)

    def _expected_enrolled(self, index: np.ndarray) -> np.ndarray:
        employers = self.employers
        hiring = employers["status"] == AKTIF
        totals = np.bincount(
            employers["sector"][hiring], weights=employers["weight"][hiring], minlength=len(self.world.sectors)
        )
        sector = employers["sector"][index]
        share = employers["weight"][index] / np.maximum(totals[sector], 1e-9)
        return self.current_targets.formal[sector] * share

    def _queue_employer_versions(self, index: np.ndarray, reported: np.ndarray) -> None:
        employers = self.employers
        headcount = np.round(self._expected_enrolled(index) * employers["inflation"][index]).astype(np.int64)
        versions = {
            "reported": reported.astype(np.int32),
            "employer": index.astype(np.int64),
            "kbli": employers["kbli"][index],
            "status": employers["status"][index],
            "reported_workers": np.where(employers["status"][index] == TUTUP, 0, np.maximum(headcount, 1)),
        }
        pending = [self.pending_employer_versions, versions]
        self.pending_employer_versions = _concat(pending, EMPLOYER_VERSION_FIELDS)

    def _employer_month(self, rng: np.random.Generator, first: int, last: int) -> None:
        employers = self.employers
        days = last - first + 1
        per_month = {kind: rate / 12 for kind, rate in EMPLOYER_EVENTS_PER_YEAR.items()}
        status = employers["status"]
        draw = rng.random(len(status))
        established = employers["registered"] < first
        active = established & (status == AKTIF)
        paused = established & (status == NONAKTIF)
        edges = np.cumsum([per_month["close"], per_month["pause"], per_month["kbli"], per_month["headcount"]])
        paused_edges = np.cumsum([per_month["close_when_paused"], per_month["resume_when_paused"]])
        close = (active & (draw < edges[0])) | (paused & (draw < paused_edges[0]))
        pause = active & (draw >= edges[0]) & (draw < edges[1])
        resume = paused & (draw >= paused_edges[0]) & (draw < paused_edges[1])
        rekbli = active & (draw >= edges[1]) & (draw < edges[2])
        headcount = active & (draw >= edges[2]) & (draw < edges[3])

        status[close] = TUTUP
        status[pause] = NONAKTIF
        status[resume] = AKTIF
        moved = np.flatnonzero(rekbli)
        across = rng.random(len(moved)) < KBLI_CHANGE_ACROSS_SECTORS
        new_sector = employers["sector"][moved].astype(np.int64)
        formal_mix = self.world.formal_mix(int(year_of(np.array([first]))[0]))
        new_sector[across] = rng.choice(len(self.world.sectors), size=int(across.sum()), p=formal_mix)
        employers["sector"][moved] = new_sector
        employers["kbli"][moved] = _random_kbli(rng, self.world, new_sector)

        changed = np.flatnonzero(close | pause | resume | rekbli | headcount)
        event_day = first + rng.integers(0, days, size=len(changed))
        lag = rng.integers(0, CHANGE_LAG_MAX + 1, size=len(changed))
        reported = roll_to_workday(np.maximum(event_day + lag, employers["last_report"][changed] + 1))
        employers["last_report"][changed] = reported
        self._queue_employer_versions(changed, reported)

        # Births keep each sector's employer base renewed; a sector with demand but no
        # hiring employer gets one at once.
        active_now = employers["status"] == AKTIF
        hiring = np.bincount(employers["sector"][active_now], minlength=len(self.world.sectors))
        births = rng.poisson(hiring * EMPLOYER_BIRTHS_PER_YEAR * days / 365.25)
        births[(hiring == 0) & (self.current_targets.formal > 0)] += 1
        sectors = np.repeat(np.arange(len(births)), births)
        if len(sectors):
            registered = first + rng.integers(0, days, size=len(sectors))
            self._found_employers(rng, sectors, registered, rng.random(len(sectors)) < LATE_EMPLOYER_SHARE)

    def _hire(
        self, rng: np.random.Generator, sectors: np.ndarray, month_first: int, month_last: int
    ) -> np.ndarray:
        """An employer for each hire in the given sectors, by size; new employers staff up first."""
        employers = self.employers
        young = (month_first - employers["registered"]) < NEW_EMPLOYER_DAYS
        weight = employers["weight"] * np.where(young, NEW_EMPLOYER_BOOST, 1.0)
        weight = weight * ((employers["status"] == AKTIF) & (employers["registered"] <= month_last))
        chosen = np.zeros(len(sectors), dtype=np.int64)
        for sector in np.unique(sectors):
            mask = sectors == sector
            candidates = np.flatnonzero((employers["sector"] == sector) & (weight > 0))
            if len(candidates) == 0:  # the sector has no hiring employer: hire anywhere
                candidates = np.flatnonzero(weight > 0)
            p = weight[candidates] / weight[candidates].sum()
            chosen[mask] = rng.choice(candidates, size=int(mask.sum()), p=p)
        return chosen

    def employer_versions_through(self, last_day: int) -> dict[str, np.ndarray]:
        """Pop the employer versions reported on or before last_day, with their full rows."""
        pending = self.pending_employer_versions
        due = pending["reported"] <= last_day
        versions = _take(pending, np.flatnonzero(due))
        self.pending_employer_versions = _take(pending, np.flatnonzero(~due))
        index = versions["employer"]
        for name in ("npp", "name", "district", "registered"):
            versions[name] = self.employers[name][index]
        return versions

    # ------------------------------------------------------------------ accounts
    def _draw_ends(self, rng: np.random.Generator, segment: np.ndarray, start: np.ndarray) -> np.ndarray:
        size = len(segment)
        wage_job = rng.exponential(MEAN_DAYS[PU], size)
        self_employment = rng.exponential(MEAN_DAYS[BPU], size)
        project = _uniform_days(rng, JAKON_SPELL_DAYS, size)
        length = np.where(segment == PU, wage_job, np.where(segment == BPU, self_employment, project))
        return start + np.maximum(1, np.round(length)).astype(np.int64)

    def _open_accounts(
        self,
        rng: np.random.Generator,
        segment: np.ndarray,
        sector: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        nik: np.ndarray,
        district: np.ndarray,
        month: tuple[int, int],
        source: np.ndarray | None = None,
        successor: bool = True,
        second: bool = False,
        void: np.ndarray | None = None,
        batch: bool = False,
    ) -> None:
        size = len(segment)
        if size == 0:
            return
        world = self.world
        segment = segment.astype(np.int64)
        start = start.astype(np.int64)
        end = end.astype(np.int64)
        void = np.zeros(size, dtype=bool) if void is None else void
        if source is None:
            source = np.where(segment == BPU, SELF_PAID, EMPLOYER_PAID)

        bound = np.flatnonzero(segment != BPU)
        npp = np.zeros(size, dtype=np.int64)
        kbli = np.zeros(size, dtype=np.int64)
        employer = self._hire(rng, sector[bound], *month)
        npp[bound] = self.employers["npp"][employer]
        # A worker cannot join before the employer exists; the spell keeps its length.
        registered = self.employers["registered"][employer].astype(np.int64)
        shift = np.maximum(0, registered - start[bound])
        start[bound] += shift
        end[bound] = np.where(end[bound] >= NEVER, NEVER, end[bound] + shift)
        names_employer_kbli = rng.random(len(bound)) < np.where(segment[bound] == PU, 0.6, 0.5)
        kbli[bound] = np.where(names_employer_kbli, self.employers["kbli"][employer], 0)
        self_employed = segment == BPU
        kbli[self_employed] = _random_kbli(rng, world, sector[self_employed])

        programs = np.zeros(size, dtype=np.int64)
        pu = segment == PU
        programs[pu] = rng.choice(len(PROGRAMS), size=int(pu.sum()), p=PU_PROGRAM_SHARES)
        self_paid = source == SELF_PAID
        programs[self_paid] = rng.choice(len(PROGRAMS), size=int(self_paid.sum()), p=BPU_PROGRAM_SHARES)

        umk = world.umk(start)
        # Some employers declare wages under the UMK (PDS upah); many pay the UMK exactly.
        pu_wage = np.where(rng.random(size) < 0.2, umk, np.round(umk * rng.lognormal(0.35, 0.3, size), -3))
        jakon_wage = np.round(umk * rng.uniform(0.9, 1.6, size), -3)
        declared = rng.choice(DECLARED_INCOMES, size=size, p=DECLARED_INCOME_SHARES)
        wage = np.where(segment == PU, pu_wage, np.where(segment == JAKON, jakon_wage, declared))
        wage = np.where(source == APBD_PAID, 1_000_000, wage).astype(np.int64)

        if batch:
            reported = roll_to_workday(start + _uniform_days(rng, BATCH_LAG_DAYS, size))
        else:
            lag = np.minimum(rng.geometric(0.3, size) - 1, REGISTRATION_LAG_MAX)
            reported = roll_to_workday(start + lag)
        change_day = start + _uniform_days(rng, (60, 1000), size)
        has_change = (rng.random(size) < WAGE_CHANGE_CHANCE) & (change_day < end)
        has_change &= ~void & (source != APBD_PAID)
        changed = np.where(
            has_change,
            roll_to_workday(np.maximum(change_day + rng.integers(0, CHANGE_LAG_MAX + 1, size), reported + 1)),
            NEVER,
        )
        changed_wage = np.where(has_change, np.round(wage * rng.uniform(1.03, 1.12, size), -3), wage)
        last_report = np.where(has_change, changed, reported)
        termination_lag = np.minimum(rng.geometric(0.25, size), TERMINATION_LAG_MAX)
        closed = roll_to_workday(np.maximum(end + termination_lag, last_report + 1))
        closed = np.where(end < NEVER, closed, NEVER)
        closed = np.where(void, roll_to_workday(reported + _uniform_days(rng, VOID_AFTER_DAYS, size)), closed)
        end = np.where(void, NEVER, end)

        if successor:
            chance = np.select(
                [segment == PU, segment == BPU],
                [SUCCESSOR_CHANCE[PU], SUCCESSOR_CHANCE[BPU]],
                SUCCESSOR_CHANCE[JAKON],
            )
            follows = (rng.random(size) < chance) & (end < NEVER) & ~void
        else:
            follows = np.zeros(size, dtype=bool)
        opened = {
            "kpj": self.kpj.issue(year_of(start)),
            "nik": nik,
            "segment": segment,
            "sector": sector,
            "npp": npp,
            "kbli": kbli,
            "district": district,
            "programs": programs,
            "wage": wage,
            "changed_wage": changed_wage,
            "source": source,
            "start": start,
            "end": end,
            "void": void,
            "second": np.full(size, second),
            "successor": follows,
            "reported": reported,
            "changed": changed,
            "closed": closed,
        }
        self.accounts = _concat([self.accounts, opened], ACCOUNT_FIELDS)

    def _fresh_accounts(
        self, rng: np.random.Generator, first: int, last: int, targets_next: MonthTargets
    ) -> int:
        """New persons opening accounts so that each sector's stock of persons follows its target."""
        days = last - first + 1
        accounts = self.accounts
        # Each person's main account, open now or about to start (a job change under way).
        main = (accounts["end"] > first) & ~accounts["void"] & ~accounts["second"]
        main &= accounts["source"] != APBD_PAID
        opened = 0
        for segment, after, mean_days in (
            (PU, targets_next.pu, MEAN_DAYS[PU]),
            (JAKON, targets_next.jakon, float(np.mean(JAKON_SPELL_DAYS))),
            (BPU, targets_next.bpu, MEAN_DAYS[BPU]),
        ):
            # Persons between two jobs hold a main account that has not started yet.
            between_jobs = SUCCESSOR_CHANCE[segment] * np.mean(SUCCESSOR_GAP_DAYS) / mean_days
            after = after * (1 + between_jobs)
            in_cell = main & (accounts["segment"] == segment)
            now = np.bincount(accounts["sector"][in_cell], minlength=len(after))
            # Outflow not refilled by successor accounts, plus the gap to the target (which
            # also corrects drift, e.g. when the workforce shrinks).
            expected = now * days / mean_days * (1 - SUCCESSOR_CHANCE[segment]) + (after - now)
            counts = rng.poisson(np.maximum(expected, 0))
            sector = np.repeat(np.arange(len(counts)), counts)
            size = len(sector)
            start = first + rng.integers(0, days, size)
            if segment == PU:
                start = np.where(rng.random(size) < MONTH_START_HIRES, first, start)
            nik, district = self._new_persons(rng, size, start)
            segments = np.full(size, segment)
            end = self._draw_ends(rng, segments, start)
            self._open_accounts(rng, segments, sector, start, end, nik, district, (first, last))
            opened += size
        return opened

    def _void_accounts(self, rng: np.random.Generator, first: int, last: int, fresh: int) -> None:
        size = rng.poisson(fresh * VOID_SHARE)
        segment = np.where(rng.random(size) < 0.7, PU, BPU)
        year = int(year_of(np.array([first]))[0])
        sector = np.where(
            segment == PU,
            rng.choice(len(self.world.sectors), size=size, p=self.world.formal_mix(year)),
            rng.choice(len(self.world.sectors), size=size, p=self.world.informal_mix(year)),
        )
        start = first + rng.integers(0, last - first + 1, size)
        nik, district = self._new_persons(rng, size, start)
        self._open_accounts(
            rng, segment, sector, start, np.full(size, NEVER), nik, district, (first, last),
            successor=False, void=np.ones(size, dtype=bool),
        )

    def _concurrent_accounts(
        self,
        rng: np.random.Generator,
        size: int,
        start: np.ndarray,
        end: np.ndarray,
        on_day: int,
        month: tuple[int, int],
    ) -> None:
        """Second accounts of persons already covered on on_day (second job, double registration)."""
        accounts = self.accounts
        holders = np.flatnonzero((accounts["start"] <= on_day) & (accounts["end"] > on_day) & ~accounts["void"])
        if len(holders) == 0 or size == 0:
            return
        holder = rng.choice(holders, size=size)
        # The second account lies within the person's first: it never adds coverage.
        end = np.minimum(end, accounts["end"][holder])
        start = np.minimum(np.maximum(start, accounts["start"][holder]), end - 1)
        segment = np.where(rng.random(size) < 0.5, PU, BPU)
        year = int(year_of(np.array([on_day]))[0])
        sector = np.where(
            segment == PU,
            rng.choice(len(self.world.sectors), size=size, p=self.world.formal_mix(year)),
            rng.choice(len(self.world.sectors), size=size, p=self.world.informal_mix(year)),
        )
        self._open_accounts(
            rng, segment, sector, start, end, accounts["nik"][holder], accounts["district"][holder], month,
            successor=False, second=True,
        )

    def _successor_accounts(self, rng: np.random.Generator, first: int, last: int) -> None:
        """The next account of persons whose account ended this month (a job change)."""
        while True:
            accounts = self.accounts
            ending = np.flatnonzero(accounts["successor"] & (accounts["end"] <= last))
            if len(ending) == 0:
                return
            accounts["successor"][ending] = False
            segment = accounts["segment"][ending].astype(np.int64)
            gap = _uniform_days(rng, SUCCESSOR_GAP_DAYS, len(ending))
            start = accounts["end"][ending].astype(np.int64) + gap
            end = self._draw_ends(rng, segment, start)
            sector = accounts["sector"][ending].astype(np.int64)
            nik, district = accounts["nik"][ending], accounts["district"][ending]
            self._open_accounts(rng, segment, sector, start, end, nik, district, (first, last))

    def _apbd_batch(self, rng: np.random.Generator, day: int, month: tuple[int, int]) -> None:
        """The city budget enrols vulnerable informal workers in one registration."""
        size = int(round(APBD_BATCH_ACCOUNTS * self.scale))
        year = int(year_of(np.array([day]))[0])
        sector = rng.choice(len(self.world.sectors), size=size, p=self.world.informal_mix(year))
        start = np.full(size, day)
        nik, district = self._new_persons(rng, size, start)
        # The city renews the funding every year: the accounts stay open.
        self._open_accounts(
            rng, np.full(size, BPU), sector, start, np.full(size, NEVER), nik, district, month,
            source=np.full(size, APBD_PAID), successor=False, batch=True,
        )

    # ------------------------------------------------------------------ the month step
    def begin(self, rng: np.random.Generator, day: int) -> None:
        """The population as it stands on day: employers and accounts opened before it."""
        self.current_targets = targets = self.targets(day)
        formal = targets.formal
        employer_counts = np.where(formal > 0, np.maximum(1, np.round(formal / AVERAGE_ENROLLED)), 0)
        employer_counts = employer_counts.astype(np.int64)
        sectors = np.repeat(np.arange(len(formal)), employer_counts)
        registered = day - _uniform_days(rng, (30, 25 * 365), len(sectors))
        self._found_employers(rng, sectors, registered, np.zeros(len(sectors), dtype=bool))

        # Stock in equilibrium: with exponential lives, age and remaining life are both
        # exponential; a construction spell is uniform, so is the point reached in it.
        for segment, stock in ((PU, targets.pu), (JAKON, targets.jakon), (BPU, targets.bpu)):
            counts = rng.poisson(stock)
            sector = np.repeat(np.arange(len(counts)), counts)
            size = len(sector)
            if segment == JAKON:
                spell = _uniform_days(rng, JAKON_SPELL_DAYS, size)
                age = np.floor(rng.random(size) * spell).astype(np.int64)
                remaining = spell - age
            else:
                age = np.round(rng.exponential(MEAN_DAYS[segment], size)).astype(np.int64)
                remaining = np.maximum(1, np.round(rng.exponential(MEAN_DAYS[segment], size))).astype(np.int64)
            start = day - np.minimum(age, 25 * 365)
            nik, district = self._new_persons(rng, size, start)
            for part in range(0, size, STOCK_PART_ACCOUNTS):  # bounded temporaries at large scales
                rows = slice(part, part + STOCK_PART_ACCOUNTS)
                self._open_accounts(
                    rng, np.full(len(sector[rows]), segment), sector[rows], start[rows], day + remaining[rows],
                    nik[rows], district[rows], (day, day),
                )
        concurrent = rng.poisson(CONCURRENT_SHARE * (formal.sum() + targets.bpu.sum()))
        age = np.round(rng.exponential(CONCURRENT_MEAN_DAYS, concurrent)).astype(np.int64)
        remaining = np.maximum(1, np.round(rng.exponential(CONCURRENT_MEAN_DAYS, concurrent))).astype(np.int64)
        self._concurrent_accounts(rng, concurrent, day - age, day + remaining, day, (day, day))

    def advance(self, rng: np.random.Generator, first: int, last: int, apbd_day: int | None) -> None:
        """Every change whose event falls in the month [first, last]."""
        targets_now = self.current_targets
        targets_next = self.targets(last + 1)
        self._employer_month(rng, first, last)
        fresh = self._fresh_accounts(rng, first, last, targets_next)
        self._void_accounts(rng, first, last, fresh)
        days = last - first + 1
        covered = targets_now.formal.sum() + targets_now.bpu.sum()
        concurrent = rng.poisson(CONCURRENT_SHARE * covered * days / CONCURRENT_MEAN_DAYS)
        start = first + rng.integers(0, days, concurrent)
        length = np.maximum(1, np.round(rng.exponential(CONCURRENT_MEAN_DAYS, concurrent))).astype(np.int64)
        end = start + length
        self._concurrent_accounts(rng, concurrent, start, end, first, (first, last))
        if apbd_day is not None and first <= apbd_day <= last:
            self._apbd_batch(rng, apbd_day, (first, last))
        self._successor_accounts(rng, first, last)
        self.current_targets = targets_next

    def account_versions(self, after: int, through: int) -> dict[str, np.ndarray]:
        """Account versions reported in (after, through], as rows (with 'version' and 'report').

        version 0: the opening, 1: the wage change, 2: the end or the voiding.
        """
        accounts = self.accounts
        parts = []
        for version, column in enumerate(("reported", "changed", "closed")):
            index = np.flatnonzero((accounts[column] > after) & (accounts[column] <= through))
            rows = _take(accounts, index)
            rows["version"] = np.full(len(index), version, dtype=np.int8)
            rows["report"] = accounts[column][index]
            parts.append(rows)
        fields = {**ACCOUNT_FIELDS, "version": np.int8, "report": np.int32}
        return _concat(parts, fields)

    def forget_closed(self, through: int) -> None:
        """Accounts whose last version has been reported leave the live state."""
        keep = np.flatnonzero(self.accounts["closed"] > through)
        self.accounts = _take(self.accounts, keep)
