"""Small landings shared by the generator tests (each generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from cakupan.generator import GenerateSummary, generate
from .extract_rules import CheckedFile, check_landing


@dataclass
class GeneratedLanding:
    folder: Path
    summary: GenerateSummary
    files: list[CheckedFile]
    scale: float


def _landing(tmp_path_factory: pytest.TempPathFactory, name: str, **arguments) -> GeneratedLanding:
    folder = tmp_path_factory.mktemp(name)
    summary = generate(folder, **arguments)
    return GeneratedLanding(folder, summary, check_landing(folder), arguments["scale"])


@pytest.fixture(scope="session")
def clean_landing(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLanding:
    """Four months of 2025 at 10% of Kota Malang."""
    return _landing(tmp_path_factory, "clean", start=date(2025, 1, 1), end=date(2025, 4, 30), scale=0.1, seed=3)


@pytest.fixture(scope="session")
def apbd_landing(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLanding:
    """Around the city-funded registration of 2025-11-25, at 2%."""
    return _landing(tmp_path_factory, "apbd", start=date(2025, 11, 17), end=date(2025, 12, 5), scale=0.02, seed=5)


@pytest.fixture(scope="session")
def faulty_landing(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLanding:
    """Two months with bad rows and files injected at 4%."""
    return _landing(tmp_path_factory, "faulty", start=date(2025, 2, 1), end=date(2025, 3, 31), scale=0.02, seed=7, faults=0.04)
