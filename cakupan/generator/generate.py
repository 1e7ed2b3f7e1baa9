"""generate(): a synthetic landing of daily BPJS Ketenagakerjaan extracts for Kota Malang."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from cakupan.config import ReferenceFiles
from cakupan.generator.days import DayText, day_number, month_starts
from cakupan.generator.landing import Landing
from cakupan.generator.simulation import Simulation
from cakupan.generator.world import APBD_BATCH_DAY, World

# The population is simulated from here (or from an earlier start) so that the initial
# load already holds ended accounts and years-old employers.
HISTORY_START = date(2019, 1, 1)
OLDEST_RECORD_YEARS = 26  # employers and accounts can date back this far before the history


@dataclass(frozen=True)
class GenerateSummary:
    out_dir: Path
    start: date
    end: date
    files_written: int  # including the .csv.gz twins of bad files
    rows: dict[str, int]  # data rows per kind, in files that are not spoilt as a whole
    header_only_files: int
    bad_rows: int  # rows injected as faults (a conflicting duplicate counts its two rows)
    bad_files: tuple[str, ...]  # file names spoilt as a whole


def generate(
    out_dir: Path,
    start: date,
    end: date,
    scale: float = 1.0,
    seed: int = 0,
    faults: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    reference: ReferenceFiles = ReferenceFiles(),
) -> GenerateSummary:
    """Write employers_YYYYMMDD.csv and enrolments_YYYYMMDD.csv for every day from start to
    end into out_dir: an initial load on start, then daily deltas. Same arguments, same bytes."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if not 0 <= faults <= 1:
        raise ValueError(f"faults is a rate between 0 and 1, got {faults}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    world = World.from_reference(reference)
    simulation = Simulation(world, scale, seed)
    history_start = min(HISTORY_START, start.replace(day=1))
    first_day, start_day, end_day = day_number(history_start), day_number(start), day_number(end)
    days = DayText(first_day - OLDEST_RECORD_YEARS * 366, end_day + 2 * 366)
    landing = Landing(out_dir, days, world.district_names, start_day, end_day, seed, faults)
    apbd_day = day_number(APBD_BATCH_DAY)
    total_days = end_day - start_day + 1

    simulation.begin(np.random.default_rng([seed, first_day, 0]), first_day)
    reported_through = np.iinfo(np.int32).min
    for month in month_starts(history_start, end):
        month_first = day_number(month)
        month_last = day_number((month + timedelta(days=32)).replace(day=1)) - 1
        # One random stream per calendar month: a month's events do not depend on the window.
        simulation.advance(np.random.default_rng([seed, month_first, 1]), month_first, month_last, apbd_day)
        landing.take(
            simulation.accounts.versions(reported_through, month_last),
            simulation.employers.versions_through(month_last),
            month_last,
        )
        simulation.accounts.forget_closed(month_last)
        reported_through = month_last
        if progress is not None and landing.initial_written:
            progress(landing.next_day - start_day, total_days)

    return GenerateSummary(
        out_dir=out_dir,
        start=start,
        end=end,
        files_written=landing.files_written,
        rows=dict(landing.rows),
        header_only_files=landing.header_only_files,
        bad_rows=landing.bad_rows,
        bad_files=tuple(landing.bad_files),
    )
