"""The extract interface every stage shares: kinds, file names, columns, keys."""

from __future__ import annotations

import re
from datetime import date, datetime

KINDS = ("employers", "enrolments")

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
