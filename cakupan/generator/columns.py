"""Tables of the simulation as columns: a dict of numpy arrays, one per field, and the draws
both employers and accounts make."""

from __future__ import annotations

import numpy as np

from cakupan.generator.world import World


def empty(fields: dict) -> dict[str, np.ndarray]:
    return {name: np.zeros(0, dtype=dtype) for name, dtype in fields.items()}


def concat(parts: list[dict[str, np.ndarray]], fields: dict) -> dict[str, np.ndarray]:
    return {
        name: np.concatenate([part[name] for part in parts]).astype(dtype, copy=False)
        for name, dtype in fields.items()
    }


def take(table: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: column[index] for name, column in table.items()}


def uniform_days(rng: np.random.Generator, bounds: tuple[int, int], size: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, size=size)


def random_kbli(rng: np.random.Generator, world: World, sectors: np.ndarray) -> np.ndarray:
    """A 5-digit code whose division belongs to the sector (subclass digits are free)."""
    divisions = np.zeros(len(sectors), dtype=np.int64)
    for sector in np.unique(sectors):
        mask = sectors == sector
        divisions[mask] = rng.choice(world.divisions[sector], size=int(mask.sum()))
    return (divisions * 1000 + rng.integers(100, 1000, size=len(sectors))).astype(np.int32)
