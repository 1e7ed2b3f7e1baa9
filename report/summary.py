"""The short markdown summary a run posts as its Prefect artifact (no personal identifier)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cakupan.report.data import read_published
from cakupan.report.files import INDEX_FILE, REPORT_FILE_NAMES
from cakupan.report.formatting import format_date
from cakupan.report.page import headline_figures, latest_city_row


def report_markdown(con: duckdb.DuckDBPyConnection, report_dir: Path) -> str:
    """City coverage against target for the latest year, and the report's files."""
    report_dir = Path(report_dir)
    latest = latest_city_row(read_published(con))
    if latest is None:
        lines = ["## Cakupan Kota Malang", "", "Belum ada data yang dimuat (no data loaded yet)."]
    else:
        lines = [
            f"## Cakupan Kota Malang per {format_date(latest['ref_date'])}",
            "",
            "| | |",
            "|---|---|",
            *(f"| {headline.label} | **{headline.value}** — {headline.note} |"
              for headline in headline_figures(latest)),
        ]
    present = [name for name in REPORT_FILE_NAMES if (report_dir / name).is_file()]
    lines += ["", f"Laporan (report): `{(report_dir / INDEX_FILE).resolve()}`", ""]
    lines += [f"- `{name}`" for name in present] or ["- (belum ada file / no files yet)"]
    return "\n".join(lines) + "\n"
