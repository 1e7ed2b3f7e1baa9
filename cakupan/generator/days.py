"""Day numbers (days since 1970-01-01) and their text, for vectorised date work."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

UNIX_EPOCH = date(1970, 1, 1)
NEVER = np.iinfo(np.int32).max // 2  # a day number later than any simulated day
SECONDS_PER_DAY = 86_400


def day_number(day: date) -> int:
    return (day - UNIX_EPOCH).days


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def roll_to_workday(days: np.ndarray) -> np.ndarray:
    """The branch office enters changes on working days: Saturday and Sunday move to Monday."""
    day_of_week = weekday(days)
    return days + np.where(day_of_week == 5, 2, np.where(day_of_week == 6, 1, 0))


def month_starts(first: date, last: date) -> list[date]:
    """First day of every calendar month from first's month to last's month."""
    months = []
    current = first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def year_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


class DayText:
    """'YYYY-MM-DD' and 'YYYY-MM-DD HH:MM:SS' text for day numbers, from lookup tables."""

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        numbers = np.arange(first, last + 1)
        self.dates = np.datetime_as_string(numbers.astype("datetime64[D]"), unit="D").astype(object)
        # "1970-01-01T07:30:00" -> " 07:30:00": keep the characters from the "T", as a space.
        seconds = np.arange(SECONDS_PER_DAY).astype("datetime64[s]")
        stamps = np.datetime_as_string(seconds, unit="s").astype("U19")
        characters = np.ascontiguousarray(stamps.view("U1").reshape(SECONDS_PER_DAY, 19)[:, 10:])
        characters[:, 0] = " "
        self.times = characters.view("U9").ravel().astype(object)

    def date(self, days: np.ndarray) -> np.ndarray:
        return self.dates[days - self.first]

    def timestamp(self, days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return self.dates[days - self.first] + self.times[seconds]
