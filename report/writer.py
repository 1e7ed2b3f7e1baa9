"""``write_report``: the page, its charts and the exports, written into one folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from cakupan.report.data import read_published, read_sector_names_en, read_target_path
from cakupan.report.files import INDEX_FILE, remove_stale, write_bytes, write_exports
from cakupan.report.page import build_page


@dataclass(frozen=True)
class ReportFiles:
    """The paths one run of ``write_report`` wrote."""

    index: Path
    charts: tuple[Path, ...]
    exports: tuple[Path, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.index, *self.charts, *self.exports)


def write_report(con: duckdb.DuckDBPyConnection, out_dir: Path) -> ReportFiles:
    """Write ``index.html``, the PNG charts and the Parquet/CSV exports into ``out_dir``.

    Files keep their names from run to run (each run replaces them); report files an
    earlier run wrote and this one did not (charts, once the marts are empty) are removed.
    Nothing else in ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    published = read_published(con)
    page = build_page(published, read_target_path(con), read_sector_names_en(con))

    exports = write_exports(published, out_dir)
    charts = [write_bytes(out_dir / name, png) for name, png in page.charts.items()]
    index = write_bytes(out_dir / INDEX_FILE, page.html.encode("utf-8"))
    files = ReportFiles(index, tuple(charts), tuple(exports))
    remove_stale(out_dir, list(files.paths))
    return files
