"""The change of each headline figure since the previous publication with a different as_of."""

from __future__ import annotations

import pandas as pd

from cakupan.report.formatting import format_date, format_number, format_percent, is_missing
from cakupan.report.published_figures import PublishedHistory

NO_CHANGE = "tidak berubah"  # unchanged


def headline_changes(latest: pd.Series, history: PublishedHistory | None) -> list[str]:
    """One line per headline figure (coverage, target, gap, status), in headline order: the
    change against the same year as published on the previous as_of. Empty lines when there
    is no earlier publication to compare with."""
    if history is None or history.previous is None or history.previous_city is None:
        return ["", "", "", ""]
    since = f"sejak data per {format_date(history.previous.as_of)}"
    year = int(latest["year"])
    rows = history.previous_city[history.previous_city["year"] == year]
    if rows.empty:
        new_year = f"baru: belum ada angka {year} pada data per {format_date(history.previous.as_of)}"
        return [new_year, "", "", ""]
    before = rows.iloc[0]
    return [
        _rate_change(latest["coverage_rate"], before["coverage_rate"], since)
        + _count_change(latest["covered"], before["covered"], " tercakup"),
        _rate_change(latest["target_rate"], before["target_rate"], since),
        _gap_change(latest["gap_workers"], before["gap_workers"], since),
        _status_change(latest["on_track"], before["on_track"], since),
    ]


def format_points(delta: float) -> str:
    """0.004 -> '+0,4 poin' (percentage points, comma decimal mark, a real minus sign)."""
    points = round(delta * 100, 1)
    if points == 0:
        return "±0,0 poin"
    sign = "+" if points > 0 else "−"
    return f"{sign}{abs(points):.1f}".replace(".", ",") + " poin"


def _rate_change(now, before, since: str) -> str:
    if is_missing(now) or is_missing(before):
        return "" if is_missing(now) and is_missing(before) else f"{since}: sebelumnya {format_percent(before)}"
    delta = float(now) - float(before)
    if round(delta * 100, 1) == 0:
        return f"{NO_CHANGE} {since}"
    return f"{format_points(delta)} {since} (sebelumnya {format_percent(before)})"


def _count_change(now, before, what: str) -> str:
    if is_missing(now) or is_missing(before) or int(now) == int(before):
        return ""
    return f"; {_signed_number(int(now) - int(before))}{what}"


def _gap_change(now, before, since: str) -> str:
    if is_missing(now) and is_missing(before):
        return ""
    if is_missing(now) or is_missing(before):
        return f"{since}: sebelumnya {format_number(before)}"
    if int(now) == int(before):
        return f"{NO_CHANGE} {since}"
    return f"{_signed_number(int(now) - int(before))} pekerja {since} (sebelumnya {format_number(before)})"


def _status_change(now, before, since: str) -> str:
    if is_missing(now) and is_missing(before):
        return ""
    if not is_missing(now) and not is_missing(before) and bool(now) == bool(before):
        return f"{NO_CHANGE} {since}"
    return f"{since}: sebelumnya {_status(before)}"


def _status(on_track) -> str:
    if is_missing(on_track):
        return "tanpa target"
    return "sesuai target" if on_track else "di bawah target"


def _signed_number(value: int) -> str:
    return ("+" if value > 0 else "−") + format_number(abs(value))
