"""Run baseline.sql over one landing folder in this (fresh) process; write its counts as JSON.

Usage: python benchmarks/baseline.py LANDING_DIR OUT_JSON

The harness (run.py) starts this as its own process, so the baseline pays its start-up
like Cakupan does and never shares a DuckDB cache with it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

BASELINE_SQL = Path(__file__).with_name("baseline.sql")


def coverage_counts(landing: Path, prepare: Callable[[duckdb.DuckDBPyConnection, Path], None] | None = None) -> list[dict]:
    """The counts of baseline.sql; `prepare(con, folder)` first, with a scratch folder of the
    run (same_work.py defines there the rows counted)."""
    con = duckdb.connect()
    spill = tempfile.TemporaryDirectory(prefix="cakupan-baseline-")
    try:
        con.execute("set temp_directory = ?", [spill.name])
        if prepare:
            prepare(con, Path(spill.name))
        con.execute("set variable landing = ?", [str(landing.resolve())])
        con.execute(BASELINE_SQL.read_text(encoding="utf-8"))
        rows = con.execute(
            "select year, ref_date::varchar, scope, covered, covered_formal, covered_informal, "
            "covered_vulnerable from coverage order by year, scope"
        ).fetchall()
    finally:
        con.close()
        spill.cleanup()
    names = ("year", "ref_date", "scope", "covered", "covered_formal", "covered_informal", "covered_vulnerable")
    return [dict(zip(names, row)) for row in rows]


def main() -> None:
    landing, out = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    counts = coverage_counts(landing)
    out.write_text(json.dumps({"sql_seconds": time.perf_counter() - started, "coverage": counts}))


if __name__ == "__main__":
    main()
