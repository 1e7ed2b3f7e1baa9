"""The generated landings the benchmarks read: one per scale and date range, generated once
and kept in the data folder, with their data rows counted once."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

from harness import CAKUPAN

CITY_START, CITY_END = date(2020, 1, 1), date(2025, 12, 31)
PROVINCE_START, PROVINCE_END = date(2025, 1, 1), date(2025, 12, 31)


def landing_for(data: Path, scale: float, start: date, end: date) -> Path:
    """The cached landing of one scale and range, generated on first use."""
    name = f"landing_scale{scale:g}_{start:%Y%m%d}_{end:%Y%m%d}_seed0"
    landing = data / name
    if landing.is_dir():
        return landing
    partial = data / f"{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"generating {name} (once; kept for later runs) ...", flush=True)
    subprocess.run(
        [CAKUPAN, "generate", "--out", str(partial), "--start", start.isoformat(),
         "--end", end.isoformat(), "--scale", f"{scale:g}", "--seed", "0"],
        check=True,
    )
    partial.rename(landing)
    return landing


def data_rows(landing: Path, until: date | None = None) -> int:
    """Data rows (header excluded) of the landing's files dated up to `until`, counted once
    and kept beside the landing."""
    counts_path = landing.with_name(landing.name + ".rows.json")
    if counts_path.is_file():
        counts = json.loads(counts_path.read_text())
    else:
        counts = {path.name: _data_lines(path) for path in sorted(landing.iterdir())}
        counts_path.write_text(json.dumps(counts))
    cutoff = until.strftime("%Y%m%d") if until else "99999999"
    return sum(rows for name, rows in counts.items() if name.split("_")[1][:8] <= cutoff)


def _data_lines(path: Path) -> int:
    """Lines after the header, read in blocks: a province's initial load is ~2 GB."""
    lines, last = 0, b"\n"
    with (gzip.open(path) if path.name.endswith(".gz") else path.open("rb")) as extract:
        while block := extract.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines - 1 + (last != b"\n"))
