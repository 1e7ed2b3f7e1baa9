"""The report of a small real warehouse, in a real browser (Debian's chromium, headless) at a
phone's and a desktop's width: no sideways scrolling, no legend over a bar, legible chart text,
every link served, and headline figures equal to the warehouse computed here independently."""

from __future__ import annotations

import functools
import http.server
import math
import threading
from datetime import date
from pathlib import Path

import pytest

from cakupan.config import report_dir
from tests.support import TEST_SECRET

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PHONE, DESKTOP = 390, 1400
SMALL_PHONE, TABLET = 360, 800
NARROW_UP_TO = 700  # the page's breakpoint: narrow charts up to this width


@pytest.fixture(scope="module")
def small_warehouse(prefect_api, generated_landing, tmp_path_factory) -> Path:
    """Twelve generated days loaded by the real nightly flow; its report beside it."""
    from cakupan.flows.nightly import nightly

    warehouse = tmp_path_factory.mktemp("browser") / "cakupan.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CAKUPAN_PII_KEY", TEST_SECRET)
        state = nightly(as_of=date(2025, 3, 12), landing=str(generated_landing), warehouse=str(warehouse),
                        return_state=True)
    assert state.is_completed(), state.message
    return warehouse


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served_report(small_warehouse):
    """The report folder over HTTP on 127.0.0.1, as a web server would publish it."""
    handler = functools.partial(QuietHandler, directory=str(report_dir(small_warehouse)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Debian's chromium (apt-get install -y chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nreport screenshots: {folder}")
    return folder


def expected_headline(warehouse: Path) -> dict:
    """The latest year's coverage, target and gap from raw rows and reference tables, not the marts."""
    from cakupan.warehouse.connection import connect

    with connect(warehouse, read_only=True) as con:
        [(as_of,)] = con.execute("select max(extract_date) from audit.extract_files where status = 'LOADED'").fetchall()
        ref = min(date(as_of.year, 12, 31), as_of)
        [(covered,)] = con.execute(
            """
            with current_versions as (
                select * from raw.enrolments
                qualify row_number() over (partition by kpj_hmac order by updated_at desc, extract_date desc) = 1
            )
            select count(distinct nik_hmac) from current_versions
            where status <> 'BATAL' and start_date <= ? and (end_date is null or end_date > ?)
            """,
            [ref, ref],
        ).fetchall()
        [(workforce,)] = con.execute(
            "select sum(employed) from ref.workforce where year = (select max(year) from ref.workforce where year <= ?)",
            [as_of.year],
        ).fetchall()
        [(target,)] = con.execute(
            "select target_rate from ref.targets where sector = 'ALL' and year = ?", [as_of.year]
        ).fetchall()
    return {"covered": covered, "workforce": workforce, "rate": covered / workforce, "target": target,
            "gap": max(0, math.ceil(target * workforce) - covered)}


def indonesian_number(text: str) -> int:
    return int(text.replace(".", ""))


def indonesian_percent(text: str) -> float:
    return float(text.rstrip("%").replace(",", "."))


def overlapping(a: dict, b: dict) -> bool:
    return (a["left"] < b["right"] - 0.5 and b["left"] < a["right"] - 0.5
            and a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5)


VISIBLE_CHARTS = """
() => [...document.querySelectorAll('figure.chart')].map(figure => {
    const shown = [...figure.querySelectorAll('.wide, .narrow')].filter(v => v.offsetParent !== null);
    const box = el => { const r = el.getBoundingClientRect();
                        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height}; };
    return {
        id: figure.id,
        variants: shown.map(v => v.className),
        legends: shown.flatMap(v => [...v.querySelectorAll('[id$="-legend"]')].map(box)),
        bars: shown.flatMap(v => [...v.querySelectorAll('[id*="-bar-"], [id$="-line"]')].map(box)).filter(b => b.height > 0),
        texts: shown.flatMap(v => [...v.querySelectorAll('text')].map(box)),
        // text running past its drawing is cut off on screen
        cut: shown.flatMap(v => { const svg = v.querySelector('svg').getBoundingClientRect();
            return [...v.querySelectorAll('text')].filter(t => { const r = t.getBoundingClientRect();
                return r.left < svg.left - 1 || r.right > svg.right + 1 || r.top < svg.top - 1 || r.bottom > svg.bottom + 1;
            }).map(t => t.textContent); }),
    };
})
"""


@pytest.mark.parametrize("width", [SMALL_PHONE, PHONE, TABLET, DESKTOP])
def test_report_reads_well_at_the_width(browser, served_report, small_warehouse, screenshots, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(served_report + "index.html")
    page.screenshot(path=str(screenshots / f"report-{width}.png"), full_page=True)

    scroll_width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= viewport, f"the page scrolls sideways at {width} px"

    charts = page.evaluate(VISIBLE_CHARTS)
    assert len(charts) == 6  # the five of the marts, and the city rate per published as_of
    for chart in charts:
        assert chart["variants"] == (["narrow"] if width <= NARROW_UP_TO else ["wide"]), chart["id"]
        assert chart["bars"], chart["id"]
        for legend in chart["legends"]:
            assert not [bar for bar in chart["bars"] if overlapping(legend, bar)], f"legend over a bar in {chart['id']}"
        assert chart["cut"] == [], chart["id"]
        # a text line at least 10 px high: readable without zooming
        assert min(text["height"] for text in chart["texts"]) >= 10, chart["id"]
    assert sum(len(chart["legends"]) for chart in charts) == 5  # every chart but the work list has one

    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert {href.rsplit("/", 1)[1] for href in hrefs} >= {"employer_compliance.csv", "coverage_city_year.parquet"}
    for href in set(hrefs):
        response = page.request.get(href)
        assert response.status == 200, href
    page.close()


def test_headline_figures_equal_the_warehouse(browser, served_report, small_warehouse):
    expected = expected_headline(small_warehouse)
    page = browser.new_page(viewport={"width": PHONE, "height": 900})
    page.goto(served_report + "index.html")
    values = page.eval_on_selector_all(".headline .value", "cards => cards.map(c => c.textContent.trim())")
    note = page.text_content(".headline .note")
    page.close()

    coverage, target, gap, status = values
    assert indonesian_percent(coverage) == round(expected["rate"] * 100, 1)
    assert indonesian_percent(target) == round(expected["target"] * 100, 1)
    assert indonesian_number(gap.removesuffix(" pekerja")) == expected["gap"]
    assert status == ("Sesuai target" if expected["rate"] >= expected["target"] else "Di bawah target")
    covered, _, workforce = note.split(" pekerja")[0].split(" ")
    assert (indonesian_number(covered), indonesian_number(workforce)) == (expected["covered"], expected["workforce"])
