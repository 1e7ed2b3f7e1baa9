"""``write_report``: the page, its charts and the exports, written into one folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from cakupan.config import DEFAULT_DUCKDB_MEMORY_LIMIT, FreshnessThresholds
from cakupan.report.data import no_target_path, read_published, read_sector_names_en, read_target_path
from cakupan.report.files import INDEX_FILE, remove_stale, write_bytes, write_exports
from cakupan.report.explanation import city_bridge
from cakupan.report.published_figures import read_history, read_publication
from cakupan.report.page import build_page, freshness_banners, latest_city_row
from cakupan.transforms.explain import Explanation
from cakupan.warehouse.freshness import freshness_of_latest_run
from cakupan.warehouse.publications import latest_publication, publication_as_of


@dataclass(frozen=True)
class ReportFiles:
    """The paths one run of ``write_report`` wrote."""

    index: Path
    charts: tuple[Path, ...]
    exports: tuple[Path, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.index, *self.charts, *self.exports)


def write_report(
    con: duckdb.DuckDBPyConnection, out_dir: Path, as_published_on: date | None = None,
    explained: Sequence[Explanation] = (), thresholds: FreshnessThresholds = FreshnessThresholds(),
    memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> ReportFiles:
    """Write ``index.html``, the PNG charts and the Parquet/CSV exports into ``out_dir``.

    By default the report of the current marts (the latest publication), with the changes
    since the previous publication and the freshness banner of the latest run. With
    ``as_published_on``, the report as published by the latest publication whose as_of is on
    or before that day, from history.* alone (raises NothingPublished when there is none):
    the coverage tables, changes and history chart of then; no employer work list, target
    path beyond the published years or freshness banner, which history does not keep.
    When the headline year moved, the city's bridge beside it is taken from ``explained``
    (what the run already computed) when it is there, else computed.

    Files keep their names from run to run (each run replaces them); report files an
    earlier run wrote and this one did not (charts, once the marts are empty) are removed.
    Nothing else in ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    if as_published_on is None:
        published = read_published(con)
        shown = latest_publication(con)
        target_path, names_en = read_target_path(con), read_sector_names_en(con)
        freshness = freshness_of_latest_run(con, thresholds)
    else:
        shown = publication_as_of(con, as_published_on)
        published = read_publication(con, shown.run_id)
        target_path, names_en, freshness = no_target_path(), {}, None
    history = read_history(con, shown) if shown is not None else None
    latest = latest_city_row(published)
    bridge = city_bridge(con, history, int(latest["year"]), explained, memory_limit) if history and latest is not None else None
    page = build_page(published, target_path, names_en, banners=freshness_banners(freshness), history=history,
                      bridge=bridge)

    out_dir.mkdir(parents=True, exist_ok=True)
    exports = write_exports(published, out_dir)
    charts = [write_bytes(out_dir / name, png) for name, png in page.charts.items()]
    index = write_bytes(out_dir / INDEX_FILE, page.html.encode("utf-8"))
    files = ReportFiles(index, tuple(charts), tuple(exports))
    remove_stale(out_dir, list(files.paths))
    return files
