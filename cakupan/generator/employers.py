"""The simulated employers: founded, changed month by month (closures, pauses, KBLI and
headcount changes, births), chosen for each hire by size, and their versions queued until
the working day they reach an extract."""

from __future__ import annotations

import numpy as np

from cakupan.generator.columns import concat, empty, random_kbli, take, uniform_days
from cakupan.generator.days import roll_to_workday, year_of
from cakupan.generator.identifiers import NppIssuer
from cakupan.generator.world import World

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

# A change (an employer's or an account's) reaches an extract within this many days.
CHANGE_LAG_MAX = 5

EMPLOYER_VERSION_FIELDS = {
    "reported": np.int32,
    "employer": np.int64,
    "kbli": np.int32,
    "status": np.int8,
    "reported_workers": np.int64,
}


class Employers:
    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.npp = NppIssuer(seed)
        self.table: dict[str, np.ndarray] = {}
        self.pending_versions = empty(EMPLOYER_VERSION_FIELDS)

    def begin(self, rng: np.random.Generator, day: int, formal: np.ndarray) -> None:
        """The employers registered before day, enough for each sector's formal target."""
        employer_counts = np.where(formal > 0, np.maximum(1, np.round(formal / AVERAGE_ENROLLED)), 0)
        employer_counts = employer_counts.astype(np.int64)
        sectors = np.repeat(np.arange(len(formal)), employer_counts)
        registered = day - uniform_days(rng, (30, 25 * 365), len(sectors))
        self.found(rng, sectors, registered, np.zeros(len(sectors), dtype=bool), formal)

    def found(
        self, rng: np.random.Generator, sectors: np.ndarray, registered: np.ndarray, late: np.ndarray,
        formal: np.ndarray,
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
        lag = np.where(late, uniform_days(rng, LATE_EMPLOYER_LAG_DAYS, count), rng.integers(0, 4, size=count))
        first_report = roll_to_workday(registered + lag)
        founded = {
            "npp": self.npp.issue(count),
            "name": name.astype(object),
            "sector": sectors.astype(np.int8),
            "kbli": random_kbli(rng, self.world, sectors),
            "district": rng.choice(
                len(self.world.district_names), size=count, p=self.world.employer_district_share
            ).astype(np.int8),
            "weight": weight,
            "inflation": rng.uniform(0.95, 1.6, size=count),  # declared headcount above enrolment
            "registered": registered.astype(np.int32),
            "status": np.full(count, AKTIF, dtype=np.int8),
            "last_report": first_report.astype(np.int32),
        }
        first_index = len(self.table.get("npp", []))
        if self.table:
            founded = {name: np.concatenate([self.table[name], column]) for name, column in founded.items()}
        self.table = founded
        self._queue_versions(np.arange(first_index, first_index + count), first_report, formal)

    def _expected_enrolled(self, index: np.ndarray, formal: np.ndarray) -> np.ndarray:
        employers = self.table
        hiring = employers["status"] == AKTIF
        totals = np.bincount(
            employers["sector"][hiring], weights=employers["weight"][hiring], minlength=len(self.world.sectors)
        )
        sector = employers["sector"][index]
        share = employers["weight"][index] / np.maximum(totals[sector], 1e-9)
        return formal[sector] * share

    def _queue_versions(self, index: np.ndarray, reported: np.ndarray, formal: np.ndarray) -> None:
        employers = self.table
        headcount = np.round(self._expected_enrolled(index, formal) * employers["inflation"][index]).astype(np.int64)
        versions = {
            "reported": reported.astype(np.int32),
            "employer": index.astype(np.int64),
            "kbli": employers["kbli"][index],
            "status": employers["status"][index],
            "reported_workers": np.where(employers["status"][index] == TUTUP, 0, np.maximum(headcount, 1)),
        }
        self.pending_versions = concat([self.pending_versions, versions], EMPLOYER_VERSION_FIELDS)

    def month(self, rng: np.random.Generator, first: int, last: int, formal: np.ndarray) -> None:
        """Closures, pauses, resumptions, KBLI and headcount changes of the month, and births."""
        employers = self.table
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
        employers["kbli"][moved] = random_kbli(rng, self.world, new_sector)

        changed = np.flatnonzero(close | pause | resume | rekbli | headcount)
        event_day = first + rng.integers(0, days, size=len(changed))
        lag = rng.integers(0, CHANGE_LAG_MAX + 1, size=len(changed))
        reported = roll_to_workday(np.maximum(event_day + lag, employers["last_report"][changed] + 1))
        employers["last_report"][changed] = reported
        self._queue_versions(changed, reported, formal)

        # Births keep each sector's employer base renewed; a sector with demand but no
        # hiring employer gets one at once.
        active_now = employers["status"] == AKTIF
        hiring = np.bincount(employers["sector"][active_now], minlength=len(self.world.sectors))
        births = rng.poisson(hiring * EMPLOYER_BIRTHS_PER_YEAR * days / 365.25)
        births[(hiring == 0) & (formal > 0)] += 1
        sectors = np.repeat(np.arange(len(births)), births)
        if len(sectors):
            registered = first + rng.integers(0, days, size=len(sectors))
            self.found(rng, sectors, registered, rng.random(len(sectors)) < LATE_EMPLOYER_SHARE, formal)

    def hire(
        self, rng: np.random.Generator, sectors: np.ndarray, month_first: int, month_last: int
    ) -> np.ndarray:
        """An employer for each hire in the given sectors, by size; new employers staff up first."""
        employers = self.table
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

    def versions_through(self, last_day: int) -> dict[str, np.ndarray]:
        """Pop the employer versions reported on or before last_day, with their full rows."""
        pending = self.pending_versions
        due = pending["reported"] <= last_day
        versions = take(pending, np.flatnonzero(due))
        self.pending_versions = take(pending, np.flatnonzero(~due))
        index = versions["employer"]
        for name in ("npp", "name", "district", "registered"):
            versions[name] = self.table[name][index]
        return versions
