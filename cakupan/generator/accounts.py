"""The simulated membership accounts: each account's whole life drawn when it opens (start,
optional wage change, end or voiding, and the working days on which each change reaches an
extract); new persons so that each sector's covered persons follow the month's targets,
voided, concurrent and successor accounts, the city's APBD batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cakupan.generator.columns import concat, empty, random_kbli, take, uniform_days
from cakupan.generator.days import NEVER, roll_to_workday, year_of
from cakupan.generator.employers import CHANGE_LAG_MAX, Employers
from cakupan.generator.identifiers import KpjIssuer, NikIssuer
from cakupan.generator.world import APBD_BATCH_ACCOUNTS, World

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
BATCH_LAG_DAYS = (1, 3)
VOID_AFTER_DAYS = (3, 30)

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


@dataclass
class MonthTargets:
    """Covered persons the month aims at, per sector, at the run's scale."""

    pu: np.ndarray
    jakon: np.ndarray
    bpu: np.ndarray

    @property
    def formal(self) -> np.ndarray:
        return self.pu + self.jakon


class Accounts:
    """The accounts that still have a version to report."""

    def __init__(self, world: World, scale: float, seed: int, employers: Employers) -> None:
        self.world = world
        self.scale = scale
        self.employers = employers
        self.nik = NikIssuer(world.region_codes)
        self.kpj = KpjIssuer(seed)
        self.table = empty(ACCOUNT_FIELDS)

    def _new_persons(
        self, rng: np.random.Generator, size: int, day: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """NIK and home district of persons first met on `day`, aged 18 to 60."""
        district = rng.choice(len(self.world.region_codes), size=size, p=self.world.population_share)
        age_days = (18 + rng.beta(2.0, 3.0, size=size) * 42) * 365.25
        woman = rng.random(size) < 0.4
        nik = self.nik.issue(district, (day - age_days).astype(np.int64), woman)
        return nik, district

    def _draw_ends(self, rng: np.random.Generator, segment: np.ndarray, start: np.ndarray) -> np.ndarray:
        size = len(segment)
        wage_job = rng.exponential(MEAN_DAYS[PU], size)
        self_employment = rng.exponential(MEAN_DAYS[BPU], size)
        project = uniform_days(rng, JAKON_SPELL_DAYS, size)
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
        employer = self.employers.hire(rng, sector[bound], *month)
        npp[bound] = self.employers.table["npp"][employer]
        # A worker cannot join before the employer exists; the spell keeps its length.
        registered = self.employers.table["registered"][employer].astype(np.int64)
        shift = np.maximum(0, registered - start[bound])
        start[bound] += shift
        end[bound] = np.where(end[bound] >= NEVER, NEVER, end[bound] + shift)
        names_employer_kbli = rng.random(len(bound)) < np.where(segment[bound] == PU, 0.6, 0.5)
        kbli[bound] = np.where(names_employer_kbli, self.employers.table["kbli"][employer], 0)
        self_employed = segment == BPU
        kbli[self_employed] = random_kbli(rng, world, sector[self_employed])

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
            reported = roll_to_workday(start + uniform_days(rng, BATCH_LAG_DAYS, size))
        else:
            lag = np.minimum(rng.geometric(0.3, size) - 1, REGISTRATION_LAG_MAX)
            reported = roll_to_workday(start + lag)
        change_day = start + uniform_days(rng, (60, 1000), size)
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
        closed = np.where(void, roll_to_workday(reported + uniform_days(rng, VOID_AFTER_DAYS, size)), closed)
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
        self.table = concat([self.table, opened], ACCOUNT_FIELDS)

    def _fresh_accounts(
        self, rng: np.random.Generator, first: int, last: int, targets_next: MonthTargets
    ) -> int:
        """New persons opening accounts so that each sector's stock of persons follows its target."""
        days = last - first + 1
        accounts = self.table
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

    def _sectors(self, rng: np.random.Generator, segment: np.ndarray, day: int) -> np.ndarray:
        """A sector for each PU or BPU account, by the year's formal or informal mix."""
        size = len(segment)
        year = int(year_of(np.array([day]))[0])
        return np.where(
            segment == PU,
            rng.choice(len(self.world.sectors), size=size, p=self.world.formal_mix(year)),
            rng.choice(len(self.world.sectors), size=size, p=self.world.informal_mix(year)),
        )

    def _void_accounts(self, rng: np.random.Generator, first: int, last: int, fresh: int) -> None:
        size = rng.poisson(fresh * VOID_SHARE)
        segment = np.where(rng.random(size) < 0.7, PU, BPU)
        sector = self._sectors(rng, segment, first)
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
        accounts = self.table
        holders = np.flatnonzero((accounts["start"] <= on_day) & (accounts["end"] > on_day) & ~accounts["void"])
        if len(holders) == 0 or size == 0:
            return
        holder = rng.choice(holders, size=size)
        # The second account lies within the person's first: it never adds coverage.
        end = np.minimum(end, accounts["end"][holder])
        start = np.minimum(np.maximum(start, accounts["start"][holder]), end - 1)
        segment = np.where(rng.random(size) < 0.5, PU, BPU)
        sector = self._sectors(rng, segment, on_day)
        self._open_accounts(
            rng, segment, sector, start, end, accounts["nik"][holder], accounts["district"][holder], month,
            successor=False, second=True,
        )

    def _successor_accounts(self, rng: np.random.Generator, first: int, last: int) -> None:
        """The next account of persons whose account ended this month (a job change)."""
        while True:
            accounts = self.table
            ending = np.flatnonzero(accounts["successor"] & (accounts["end"] <= last))
            if len(ending) == 0:
                return
            accounts["successor"][ending] = False
            segment = accounts["segment"][ending].astype(np.int64)
            gap = uniform_days(rng, SUCCESSOR_GAP_DAYS, len(ending))
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

    def begin(self, rng: np.random.Generator, day: int, targets: MonthTargets) -> None:
        """The accounts open on day: the targets' stock and concurrent accounts."""
        # Stock in equilibrium: with exponential lives, age and remaining life are both
        # exponential; a construction spell is uniform, so is the point reached in it.
        for segment, stock in ((PU, targets.pu), (JAKON, targets.jakon), (BPU, targets.bpu)):
            counts = rng.poisson(stock)
            sector = np.repeat(np.arange(len(counts)), counts)
            size = len(sector)
            if segment == JAKON:
                spell = uniform_days(rng, JAKON_SPELL_DAYS, size)
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
        concurrent = rng.poisson(CONCURRENT_SHARE * (targets.formal.sum() + targets.bpu.sum()))
        age = np.round(rng.exponential(CONCURRENT_MEAN_DAYS, concurrent)).astype(np.int64)
        remaining = np.maximum(1, np.round(rng.exponential(CONCURRENT_MEAN_DAYS, concurrent))).astype(np.int64)
        self._concurrent_accounts(rng, concurrent, day - age, day + remaining, day, (day, day))

    def month(
        self, rng: np.random.Generator, first: int, last: int, apbd_day: int | None,
        targets_now: MonthTargets, targets_next: MonthTargets,
    ) -> None:
        """Accounts opened, voided, doubled and succeeded in the month [first, last]."""
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

    def versions(self, after: int, through: int) -> dict[str, np.ndarray]:
        """Account versions reported in (after, through], as rows (with 'version' and 'report').

        version 0: the opening, 1: the wage change, 2: the end or the voiding.
        """
        accounts = self.table
        parts = []
        for version, column in enumerate(("reported", "changed", "closed")):
            index = np.flatnonzero((accounts[column] > after) & (accounts[column] <= through))
            rows = take(accounts, index)
            rows["version"] = np.full(len(index), version, dtype=np.int8)
            rows["report"] = accounts[column][index]
            parts.append(rows)
        fields = {**ACCOUNT_FIELDS, "version": np.int8, "report": np.int32}
        return concat(parts, fields)

    def forget_closed(self, through: int) -> None:
        """Accounts whose last version has been reported leave the live state."""
        keep = np.flatnonzero(self.table["closed"] > through)
        self.table = take(self.table, keep)
