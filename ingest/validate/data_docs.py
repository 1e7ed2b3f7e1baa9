"""GX Data Docs: one HTML page per validated batch, a folder per run, beside the warehouse.

The validation results hold row indices only (never a value, see suites.py), so the
pages expose no nik or kpj. Only the latest KEEP_RUNS run folders are kept.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult

KEEP_RUNS = 30


def write_validation_page(results: ExpectationSuiteValidationResult, run_dir: Path, name: str) -> Path:
    from great_expectations.render.renderer import ValidationResultsPageRenderer  # GX: see __init__
    from great_expectations.render.view import DefaultJinjaPageView

    run_dir.mkdir(parents=True, exist_ok=True)
    page = run_dir / f"{name}.html"
    page.write_text(DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(results)), encoding="utf-8")
    return page


def refresh_index(root: Path, keep_runs: int = KEEP_RUNS) -> Path:
    """Drop the oldest run folders beyond `keep_runs`; list the rest, newest first."""
    runs = sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime, reverse=True)
    for stale in runs[keep_runs:]:
        shutil.rmtree(stale)
    items = []
    for run in runs[:keep_runs]:
        pages = "".join(
            f'<li><a href="{html.escape(run.name)}/{html.escape(p.name)}">{html.escape(p.stem)}</a></li>'
            for p in sorted(run.glob("*.html"))
        )
        items.append(f"<h2>run {html.escape(run.name)}</h2><ul>{pages}</ul>")
    index = root / "index.html"
    index.write_text(
        "<!doctype html><meta charset='utf-8'><title>Cakupan validation results</title>"
        f"<h1>Validation results (latest {keep_runs} runs)</h1>{''.join(items)}",
        encoding="utf-8",
    )
    return index
