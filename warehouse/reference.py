"""Reference data: plain CSV files shipped in warehouse/reference/, loaded into ref.* every run.

Users replace a file without touching code by putting a file of the same name in the folder
named by CAKUPAN_REFERENCE_DIR. CAKUPAN_TARGETS=points selects the +10 percentage-point
reading of the city's target instead of the default relative one. Both come in the run's
settings (config.ReferenceFiles), checked at its entry.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import duckdb
import pandas as pd

from cakupan.config import ReferenceFiles
from cakupan.warehouse.transaction import transaction

SHIPPED = Path(str(files(__package__).joinpath("reference")))

# Column types per table; text codes stay text so leading zeros ("01") survive.
TABLES: dict[str, dict[str, str]] = {
    "sectors": {"sector": "varchar", "sector_name": "varchar", "sector_name_en": "varchar"},
    "kbli_divisions": {"division": "varchar", "sector": "varchar"},
    "districts": {
        "district": "varchar",
        "kemendagri_code": "varchar",
        "population_2023": "bigint",
        "population_share": "double",
    },
    "workforce": {
        "year": "integer",
        "sector": "varchar",
        "employed": "bigint",
        "employed_formal": "bigint",
        "share_pct": "double",
        "formal_share": "double",
    },
    "targets": {"year": "integer", "sector": "varchar", "target_rate": "double"},
    "umk": {"year": "integer", "umk": "bigint"},
}

TARGET_FILES = {"relative": "targets.csv", "points": "targets_points.csv"}  # per config.TARGET_READINGS


class ReferenceError(ValueError):
    """A reference file is missing or does not have the expected columns."""


def reference_path(name: str, reference: ReferenceFiles) -> Path:
    """The file that holds table `name`: the user's override if present, else the shipped one."""
    file_name = TARGET_FILES[reference.targets] if name == "targets" else f"{name}.csv"
    override = reference.override_dir
    if override and (override / file_name).is_file():
        return override / file_name
    return SHIPPED / file_name


def _relation(con: duckdb.DuckDBPyConnection, name: str, reference: ReferenceFiles) -> duckdb.DuckDBPyRelation:
    path = reference_path(name, reference)
    columns = TABLES[name]
    try:
        header = pd.read_csv(path, comment="#", nrows=0).columns.tolist()
    except (OSError, pd.errors.ParserError) as exc:
        raise ReferenceError(f"{path}: cannot read reference table {name}: {exc}") from exc
    if header != list(columns):
        raise ReferenceError(f"{path}: expected columns {', '.join(columns)}; found {', '.join(header)}")
    try:
        return con.read_csv(str(path), comment="#", header=True, columns=columns, auto_detect=False)
    except duckdb.Error as exc:
        raise ReferenceError(f"{path}: {exc}") from exc


def read_reference(name: str, reference: ReferenceFiles = ReferenceFiles()) -> pd.DataFrame:
    """One reference table as a DataFrame (for the generator and tests)."""
    con = duckdb.connect()
    try:
        return _relation(con, name, reference).df()
    finally:
        con.close()


def load_reference(con: duckdb.DuckDBPyConnection, reference: ReferenceFiles) -> None:
    """Replace every ref.* table from its file, all in one transaction."""
    relations = {name: _relation(con, name, reference) for name in TABLES}  # a bad file fails before any write
    try:
        with transaction(con):
            for name, relation in relations.items():
                con.execute(f"create or replace table ref.{name} as select * from relation")
    except duckdb.Error as exc:
        raise ReferenceError(f"reference data: {exc}") from exc
