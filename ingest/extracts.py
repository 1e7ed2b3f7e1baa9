"""The extract interface every stage shares: kinds, file names, columns, keys."""

from __future__ import annotations

import re
from datetime import date, datetime

from cakupan.warehouse.versions import KINDS  # noqa: F401  (each kind has raw tables of its own)

SPEC_COLUMNS: dict[str, tuple[str, ...]] = {
    "employers": (
        "npp", "name", "kbli", "district", "size_class", "reported_workers",
        "registered_on", "status", "updated_at",
    ),
    "enrolments": (
        "kpj", "nik", "npp", "segment", "kbli", "district", "programs", "wage",
        "contribution_source", "start_date", "end_date", "status", "updated_at",
    ),
}
# All rows of one key of one file must meet in one slice (conflicting_duplicate).
KEY_COLUMNS = {"employers": "npp", "enrolments": "kpj"}
PERSONAL_COLUMNS = ("nik", "kpj")
# How raw.<kind> types the extract columns not held as text; a personal column is held as
# `<column>_hmac`. warehouse/schema.sql spells the same tables in SQL (tests/warehouse/test_schema.py
# checks them against these).
RAW_TYPES: dict[str, dict[str, str]] = {
    "employers": {"reported_workers": "bigint", "registered_on": "date", "updated_at": "timestamp"},
    "enrolments": {"wage": "bigint", "start_date": "date", "end_date": "date", "updated_at": "timestamp"},
}
# What raw.* adds before the extract columns: where each row came from.
RAW_SOURCE_COLUMNS = {"file_name": "varchar", "sha256": "varchar", "extract_date": "date", "row_number": "bigint"}


def raw_columns(kind: str) -> dict[str, str]:
    """raw.<kind>'s extract columns in order, each with its type."""
    return {
        (f"{column}_hmac" if column in PERSONAL_COLUMNS else column): RAW_TYPES[kind].get(column, "varchar")
        for column in SPEC_COLUMNS[kind]
    }

# ASCII digits only: \d would also match other scripts' digits (employers_２０２５１１１７.csv).
# Matched in full (fullmatch): `$` would also match before a trailing newline.
NAME_PATTERN = re.compile(r"(employers|enrolments)_([0-9]{8})\.csv(\.gz)?")


def parse_name(name: str) -> tuple[str, date | None] | None:
    """(kind, extract date) of a landing name; None if it matches no pattern; the date is
    None when impossible (employers_20250231.csv)."""
    matched = NAME_PATTERN.fullmatch(name)
    if not matched:
        return None
    try:
        return matched.group(1), datetime.strptime(matched.group(2), "%Y%m%d").date()
    except ValueError:
        return matched.group(1), None


# The circuit breaker: a file whose bad rows exceed both is a broken extract, rejected whole.
BREAKER_MIN_ROWS = 10
BREAKER_SHARE = 0.05


def breaker_trips(bad_rows: int, data_rows: int) -> bool:
    return bad_rows > BREAKER_MIN_ROWS and bad_rows > BREAKER_SHARE * data_rows


def breaker_reason(bad_rows: int, data_rows: int | str, what: str) -> str:
    return (
        f"circuit breaker: {bad_rows} of {data_rows} data rows {what} "
        f"(more than {BREAKER_MIN_ROWS} and more than {BREAKER_SHARE:.0%})"
    )
