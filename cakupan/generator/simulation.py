"""The simulated population, advanced one calendar month at a time.

Only the live state is held: employers (few) and the membership accounts that still have a
version to report. Each account's whole life is drawn when it opens (start, optional wage
change, end or voiding, and the working days on which each change reaches an extract), so a
month's deltas are the versions whose report day falls in it.
"""

from __future__ import annotations

import numpy as np

from cakupan.generator.accounts import Accounts, MonthTargets
from cakupan.generator.days import year_of
from cakupan.generator.employers import Employers
from cakupan.generator.world import FORMAL_SHARE, JAKON_SHARE_OF_CONSTRUCTION, World


class Simulation:
    """Employers and accounts, advanced together month by month towards the targets."""

    def __init__(self, world: World, scale: float, seed: int) -> None:
        self.world = world
        self.scale = scale
        self.construction = world.sector_id("F")
        self.employers = Employers(world, seed)
        self.accounts = Accounts(world, scale, seed, self.employers)

    def targets(self, day: int) -> MonthTargets:
        world = self.world
        year = int(year_of(np.array([day]))[0])
        covered = world.covered_target(day) * self.scale
        formal = covered * FORMAL_SHARE * world.formal_mix(year)
        jakon = np.zeros_like(formal)
        jakon[self.construction] = formal[self.construction] * JAKON_SHARE_OF_CONSTRUCTION
        informal = covered * (1 - FORMAL_SHARE) * world.informal_mix(year)
        return MonthTargets(pu=formal - jakon, jakon=jakon, bpu=informal)

    def begin(self, rng: np.random.Generator, day: int) -> None:
        """The population as it stands on day: employers and accounts opened before it."""
        self.current_targets = targets = self.targets(day)
        self.employers.begin(rng, day, targets.formal)
        self.accounts.begin(rng, day, targets)

    def advance(self, rng: np.random.Generator, first: int, last: int, apbd_day: int | None) -> None:
        """Every change whose event falls in the month [first, last]."""
        targets_now = self.current_targets
        targets_next = self.targets(last + 1)
        self.employers.month(rng, first, last, targets_now.formal)
        self.accounts.month(rng, first, last, apbd_day, targets_now, targets_next)
        self.current_targets = targets_next
