"""Numbers and dates as an Indonesian reader writes them: 459.084; 32,4%; 31 Desember 2025."""

from __future__ import annotations

import datetime as dt

import pandas as pd

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)
MISSING = "–"
SUPPRESSED = "s"


def is_missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def format_number(value) -> str:
    """459084 -> '459.084' (dot groups thousands)."""
    if is_missing(value):
        return MISSING
    return f"{int(value):,}".replace(",", ".")


def format_percent(rate, decimals: int = 1) -> str:
    """0.3241 -> '32,4%' (comma is the decimal mark)."""
    if is_missing(rate):
        return MISSING
    return f"{float(rate) * 100:.{decimals}f}".replace(".", ",") + "%"


def format_date(value: dt.date) -> str:
    """date(2025, 12, 31) -> '31 Desember 2025'."""
    if is_missing(value):
        return MISSING
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def is_true(value) -> bool:
    """True for a set flag; False for false or NULL (a nullable boolean is not a Python bool)."""
    return not is_missing(value) and bool(value)
