"""Freshness of the deliveries: per kind, the newest loaded extract date against a run date.

BPJS delivers both extracts every night; a kind whose newest loaded extract is more than
``late_days`` days before the run date is late, more than ``stale_days``, stale. A nightly
checks it once it has loaded and records the worst level in audit.runs.freshness; the report
shows what the latest run recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date

import duckdb

from cakupan.config import FreshnessThresholds
from cakupan.warehouse.versions import KINDS, LOADED

FRESH, LATE, STALE = "fresh", "late", "stale"
LEVELS = (FRESH, LATE, STALE)  # worst last


@dataclass(frozen=True)
class KindFreshness:
    kind: str
    newest: date | None  # None: no file of this kind loaded at all
    days_before: int | None  # run date minus newest
    level: str

    def describe(self, run_date: date) -> str:
        """`employers extract stale: newest 2026-02-03, 7 days before 2026-02-10`."""
        if self.newest is None:
            return f"{self.kind} extract {self.level}: none loaded by {run_date}"
        days = "day" if self.days_before == 1 else "days"
        return f"{self.kind} extract {self.level}: newest {self.newest}, {self.days_before} {days} before {run_date}"


@dataclass(frozen=True)
class Freshness:
    run_date: date
    kinds: tuple[KindFreshness, ...]

    @property
    def level(self) -> str:
        """The worst of the kinds: what audit.runs.freshness records."""
        return max((kind.level for kind in self.kinds), key=LEVELS.index, default=FRESH)

    def problems(self, level: str = LATE) -> list[str]:
        """One line per kind at ``level`` or worse."""
        worst_first = sorted(self.kinds, key=lambda kind: -LEVELS.index(kind.level))
        return [kind.describe(self.run_date) for kind in worst_first
                if LEVELS.index(kind.level) >= LEVELS.index(level)]

    def stale_message(self) -> str | None:
        """The one line a stale run ends with, or None when no kind is stale."""
        return "; ".join(self.problems(STALE)) or None


def assess(newest_by_kind: dict[str, date | None], run_date: date, thresholds: FreshnessThresholds) -> Freshness:
    kinds = []
    for kind in KINDS:
        newest = newest_by_kind.get(kind)
        days_before = None if newest is None else (run_date - newest).days
        if days_before is None or days_before > thresholds.stale_days:
            level = STALE
        elif days_before > thresholds.late_days:
            level = LATE
        else:
            level = FRESH
        kinds.append(KindFreshness(kind, newest, days_before, level))
    return Freshness(run_date, tuple(kinds))


def newest_extracts(con: duckdb.DuckDBPyConnection, run_date: date) -> dict[str, date]:
    """Per kind, the newest extract date among loaded files dated on or before the run date."""
    return dict(con.execute(
        f"""
        select kind, max(extract_date)
        from audit.extract_files
        where status = '{LOADED}' and extract_date <= ?
        group by kind
        """,
        [run_date],
    ).fetchall())


def check_freshness(con: duckdb.DuckDBPyConnection, run_date: date, thresholds: FreshnessThresholds) -> Freshness:
    return assess(newest_extracts(con, run_date), run_date, thresholds)


def record_freshness(con: duckdb.DuckDBPyConnection, run_id: str, freshness: Freshness) -> None:
    """fresh | late | stale: set by a nightly once it has loaded (a backfill leaves NULL)."""
    con.execute("update audit.runs set freshness = ? where run_id = ?", [freshness.level, run_id])


def freshness_of_latest_run(con: duckdb.DuckDBPyConnection, thresholds: FreshnessThresholds) -> Freshness | None:
    """What the latest run recorded (a nightly records its freshness in audit.runs as soon as it
    has loaded); None when that run is a backfill, has not checked yet, or nothing ran.

    audit.runs keeps the worst level only: the facts per kind come from audit.extract_files
    as of the run's date, and a kind's level, found with ``thresholds``, is never worse than
    the level the run recorded (thresholds tightened since do not raise an alarm it did not).
    """
    found = con.execute(
        "select parameters, freshness from audit.runs order by started_at desc limit 1"
    ).fetchall()
    if not found or found[0][1] is None:
        return None
    recorded = LEVELS.index(found[0][1])
    run_date = date.fromisoformat(json.loads(found[0][0])["as_of"])
    assessed = check_freshness(con, run_date, thresholds)
    return replace(assessed, kinds=tuple(
        replace(kind, level=LEVELS[min(LEVELS.index(kind.level), recorded)]) for kind in assessed.kinds
    ))
